"""``/api/v1/rest/dashboards`` and ``/api/v1/rest/apps`` (dashboard apps, i.e. saved explore states)."""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import APIRouter, Response, status
from pydantic import BaseModel

from matyan_api.deps import EngineDep
from matyan_api.errors import ApiError
from matyan_api.routes.entity_common import found_or_404
from matyan_store.engine import ReadTransaction, Transaction
from matyan_store.entities import (
    UNSET,
    Dashboard,
    DashboardApp,
    create_dashboard,
    create_dashboard_app,
    delete_dashboard_app,
    get_dashboard,
    get_dashboard_app,
    list_dashboard_apps,
    list_dashboards,
    update_dashboard,
    update_dashboard_app,
)

__all__ = ["apps_router", "router"]

router = APIRouter(prefix="/dashboards", tags=["dashboards"])
apps_router = APIRouter(prefix="/apps", tags=["dashboard apps"])


class DashboardOut(BaseModel):
    """A dashboard; ``app_type`` is the linked app's type."""

    id: str
    name: str
    description: str | None
    app_id: str | None
    app_type: str | None
    updated_at: float | None
    created_at: float | None


class DashboardCreateIn(BaseModel):
    """``POST /dashboards/`` body."""

    name: str
    description: str | None = None
    app_id: str | None = None


class DashboardUpdateIn(BaseModel):
    """``PUT /dashboards/{id}/`` body: absent or null fields are left as they are."""

    name: str | None = None
    description: str | None = None


class AppOut(BaseModel):
    """A dashboard app (``ExploreState``)."""

    id: str
    type: str
    updated_at: float | None
    created_at: float | None
    state: dict[str, Any]


class AppCreateIn(BaseModel):
    """``POST /apps/`` body."""

    type: str
    state: dict[str, Any]


class AppUpdateIn(BaseModel):
    """``PUT /apps/{id}/`` body: each given field replaces the old value wholesale."""

    type: str | None = None
    state: dict[str, Any] | None = None


def _dashboard_out(tr: ReadTransaction, d: Dashboard) -> DashboardOut:
    app = get_dashboard_app(tr, d.app_id) if d.app_id else None
    return DashboardOut(
        id=d.id,
        name=d.name,
        description=d.description,
        app_id=d.app_id,
        app_type=None if app is None else app.type,
        updated_at=d.updated_at,
        created_at=d.created_at,
    )


def _live_dashboard(tr: ReadTransaction, dashboard_id: str) -> Dashboard:
    # A soft-deleted dashboard is gone as far as the API is concerned.
    d = get_dashboard(tr, dashboard_id)
    if d is None or d.archived:
        raise ApiError(404)
    return d


def _list(tr: ReadTransaction) -> list[DashboardOut]:
    return [_dashboard_out(tr, d) for d in list_dashboards(tr, include_archived=False)]


@router.get("/")
async def list_all(engine: EngineDep) -> list[DashboardOut]:
    """The dashboards that are not deleted (ordered by id)."""
    return await engine.aread(_list)


@router.post("/", status_code=status.HTTP_201_CREATED)
async def create(body: DashboardCreateIn, engine: EngineDep) -> DashboardOut:
    """Create a dashboard (an omitted description is stored as ``""``)."""

    def write(tr: Transaction) -> DashboardOut:
        return _dashboard_out(tr, create_dashboard(tr, body.name, body.description or "", body.app_id))

    return await engine.atransact(write)


@router.get("/{dashboard_id}/")
async def get_one(dashboard_id: str, engine: EngineDep) -> DashboardOut:
    """One dashboard, or 404 (also for a deleted one)."""

    def read(tr: ReadTransaction) -> DashboardOut:
        return _dashboard_out(tr, _live_dashboard(tr, dashboard_id))

    return await engine.aread(read)


@router.put("/{dashboard_id}/")
async def update(dashboard_id: str, body: DashboardUpdateIn, engine: EngineDep) -> DashboardOut:
    """Change the name and/or description."""

    def write(tr: Transaction) -> DashboardOut:
        _live_dashboard(tr, dashboard_id)
        _, new = update_dashboard(tr, dashboard_id, name=body.name, description=body.description)
        return _dashboard_out(tr, new)

    return await engine.atransact(write)


@router.delete("/{dashboard_id}/", status_code=status.HTTP_204_NO_CONTENT)
async def delete(dashboard_id: str, engine: EngineDep) -> Response:
    """Soft-delete: the dashboard leaves the list and answers 404 from now on."""

    def write(tr: Transaction) -> None:
        _live_dashboard(tr, dashboard_id)
        update_dashboard(tr, dashboard_id, archived=True)

    await engine.atransact(write)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _app_out(app: DashboardApp) -> AppOut:
    return AppOut(
        id=app.id, type=app.type, updated_at=app.updated_at, created_at=app.created_at, state=app.state
    )


def _require_app(tr: ReadTransaction, app_id: str) -> DashboardApp:
    return found_or_404(get_dashboard_app(tr, app_id))


@apps_router.get("/")
async def list_apps(engine: EngineDep) -> list[AppOut]:
    """Every dashboard app (ordered by id)."""
    return [_app_out(a) for a in await engine.aread(list_dashboard_apps)]


@apps_router.post("/", status_code=status.HTTP_201_CREATED)
async def create_app_state(body: AppCreateIn, engine: EngineDep) -> AppOut:
    """Save an explore state."""
    app = await engine.atransact(lambda tr: create_dashboard_app(tr, body.type, body.state))
    return _app_out(app)


@apps_router.get("/{app_id}/")
async def get_app(app_id: str, engine: EngineDep) -> AppOut:
    """One dashboard app, or 404."""
    return _app_out(await engine.aread(partial(_require_app, app_id=app_id)))


@apps_router.put("/{app_id}/")
async def update_app(app_id: str, body: AppUpdateIn, engine: EngineDep) -> AppOut:
    """Replace the type and/or the state."""

    def write(tr: Transaction) -> DashboardApp:
        _require_app(tr, app_id)
        state = UNSET if body.state is None else body.state
        return update_dashboard_app(tr, app_id, type=body.type, state=state)[1]

    return _app_out(await engine.atransact(write))


@apps_router.delete("/{app_id}/", status_code=status.HTTP_204_NO_CONTENT)
async def delete_app(app_id: str, engine: EngineDep) -> Response:
    """Delete the app for good."""

    def write(tr: Transaction) -> None:
        _require_app(tr, app_id)
        delete_dashboard_app(tr, app_id)

    await engine.atransact(write)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
