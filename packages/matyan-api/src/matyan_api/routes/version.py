"""``GET /api/v1/rest/version/``."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from fastapi import APIRouter
from pydantic import BaseModel

from matyan_api.deps import SettingsDep

__all__ = ["VersionOut", "backend_version", "router"]

router = APIRouter(prefix="/version", tags=["version"])


class VersionOut(BaseModel):
    """``GET /version/``."""

    version: str
    component: str
    fdb_api_version: int


def backend_version() -> str:
    """The installed matyan-api version, or ``0.0.0.dev0`` when not installed as a distribution."""
    try:
        return version("matyan-api")
    except PackageNotFoundError:
        return "0.0.0.dev0"


@router.get("/")
async def get_version(settings: SettingsDep) -> VersionOut:
    """Version, component and the FoundationDB API version the backend speaks."""
    return VersionOut(
        version=backend_version(),
        component="backend",
        fdb_api_version=settings.store.engine.fdb_api_version,
    )
