"""``GET /api/v1/rest/version/``."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from fastapi import APIRouter

from matyan_api.deps import SettingsDep

__all__ = ["backend_version", "router"]

router = APIRouter(prefix="/version", tags=["version"])


def backend_version() -> str:
    """The installed matyan-api version, or ``0.0.0.dev0`` when not installed as a distribution."""
    try:
        return version("matyan-api")
    except PackageNotFoundError:
        return "0.0.0.dev0"


@router.get("/")
async def get_version(settings: SettingsDep) -> dict[str, Any]:
    """Version, component and the FoundationDB API version the backend speaks."""
    return {
        "version": backend_version(),
        "component": "backend",
        "fdb_api_version": settings.store.engine.fdb_api_version,
    }
