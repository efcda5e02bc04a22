"""Dashboards and dashboard apps (the UI's saved explore states).

Neither has a unique name. A dashboard's DELETE in the API is a soft delete (``archived=True``): that is
:func:`update_dashboard`; :func:`delete_dashboard` removes the record for good. Links between a dashboard
and an app (``app_id`` / ``dashboard_id``) are stored as given and not checked: the UI creates the app
first and the dashboard second, and a dangling link only loses the resolved ``app_type``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from matyan_store.engine.base import ReadTransaction, Transaction
from matyan_store.entities.common import UNSET, InvalidEntity, Unset
from matyan_store.entities.kinds import RecordKind, timestamps

__all__ = [
    "Dashboard",
    "DashboardApp",
    "create_dashboard",
    "create_dashboard_app",
    "delete_dashboard",
    "delete_dashboard_app",
    "get_dashboard",
    "get_dashboard_app",
    "list_dashboard_apps",
    "list_dashboards",
    "update_dashboard",
    "update_dashboard_app",
]

DASHBOARD_KIND = "dashboard"
DASHBOARD_LABEL = "Dashboard"
APP_KIND = "dashboard_app"
APP_LABEL = "Dashboard app"


@dataclass(frozen=True, slots=True)
class Dashboard:
    """A saved dashboard; ``archived`` marks a soft-deleted one."""

    id: str
    name: str
    description: str = ""
    archived: bool = False
    app_id: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Every field as a plain dict, ``id`` included."""
        return dataclasses.asdict(self)


@dataclass(frozen=True, slots=True)
class DashboardApp:
    """A saved explore state of the UI: its ``type`` (e.g. ``"metrics"``) and an opaque ``state`` dict."""

    id: str
    type: str
    state: dict[str, Any] = field(default_factory=dict)
    dashboard_id: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Every field as a plain dict, ``id`` included (``state`` is a deep copy)."""
        return dataclasses.asdict(self)


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


# -- dashboards ---------------------------------------------------------------------------------------


def _dashboard_record(d: Dashboard) -> dict[str, Any]:
    return {
        "name": d.name,
        "description": d.description,
        "archived": d.archived,
        "app_id": d.app_id,
        "created_at": d.created_at,
        "updated_at": d.updated_at,
    }


def _dashboard(entity_id: str, f: dict[str, Any]) -> Dashboard:
    return Dashboard(
        id=entity_id,
        name=str(f.get("name", "")),
        description=str(f.get("description") or ""),
        archived=bool(f.get("archived", False)),
        app_id=_optional_str(f.get("app_id")),
        created_at=float(f.get("created_at") or 0.0),
        updated_at=float(f.get("updated_at") or 0.0),
    )


_DASHBOARDS: RecordKind[Dashboard] = RecordKind(
    DASHBOARD_KIND, DASHBOARD_LABEL, _dashboard_record, _dashboard
)


def create_dashboard(
    tr: Transaction,
    name: str,
    description: str | None = "",
    app_id: str | None = None,
    *,
    dashboard_id: str | None = None,
    archived: bool = False,
    created_at: float | None = None,
    updated_at: float | None = None,
) -> Dashboard:
    """Create a dashboard (a ``None`` description is stored as ``""``); ``dashboard_id`` keeps a given id.

    Raises :class:`EntityExists` when the given id is taken.
    """
    _DASHBOARDS.require_str("name", name)
    entity_id = _DASHBOARDS.new_id(tr, dashboard_id)
    created, updated = timestamps(created_at, updated_at)
    d = Dashboard(entity_id, name, description or "", bool(archived), app_id, created, updated)
    _DASHBOARDS.write(tr, d)
    return d


def get_dashboard(tr: ReadTransaction, dashboard_id: str) -> Dashboard | None:
    """The dashboard with this id (archived ones included), or ``None``."""
    return _DASHBOARDS.get(tr, dashboard_id)


def list_dashboards(tr: ReadTransaction, *, include_archived: bool = True) -> list[Dashboard]:
    """Dashboards ordered by id; ``include_archived=False`` leaves out the soft-deleted ones."""
    return [d for d in _DASHBOARDS.all(tr) if include_archived or not d.archived]


def update_dashboard(
    tr: Transaction,
    dashboard_id: str,
    *,
    name: str | Unset | None = UNSET,
    description: str | Unset | None = UNSET,
    archived: bool | Unset | None = UNSET,
    app_id: str | Unset | None = UNSET,
) -> tuple[Dashboard, Dashboard]:
    """Change only the given fields; returns (old, new). Raises :class:`EntityNotFound`.

    ``UNSET`` or ``None`` leaves ``name``/``description``/``archived`` as they are; ``app_id=None``
    clears the link (only ``UNSET`` leaves it).
    """
    old = _DASHBOARDS.existing(tr, dashboard_id)
    changes: dict[str, Any] = {}
    if isinstance(name, str):
        changes["name"] = name
    if isinstance(description, str):
        changes["description"] = description
    if isinstance(archived, bool):
        changes["archived"] = archived
    if not isinstance(app_id, Unset):
        changes["app_id"] = app_id
    return old, _DASHBOARDS.save_changes(tr, old, changes)


def delete_dashboard(tr: Transaction, dashboard_id: str) -> Dashboard:
    """Remove the dashboard for good (the API's soft delete is ``update_dashboard(archived=True)``)."""
    return _DASHBOARDS.delete(tr, dashboard_id)


# -- dashboard apps -----------------------------------------------------------------------------------


def _app_record(a: DashboardApp) -> dict[str, Any]:
    return {
        "type": a.type,
        "state": a.state,
        "dashboard_id": a.dashboard_id,
        "created_at": a.created_at,
        "updated_at": a.updated_at,
    }


def _app(entity_id: str, f: dict[str, Any]) -> DashboardApp:
    state = f.get("state")
    return DashboardApp(
        id=entity_id,
        type=str(f.get("type", "")),
        state=state if isinstance(state, dict) else {},
        dashboard_id=_optional_str(f.get("dashboard_id")),
        created_at=float(f.get("created_at") or 0.0),
        updated_at=float(f.get("updated_at") or 0.0),
    )


def _check_state(state: Any) -> dict[str, Any]:
    if state is None:
        return {}
    if not isinstance(state, dict):
        raise InvalidEntity(f"{APP_LABEL} state must be a dict, got {type(state).__name__}")
    return state


_APPS: RecordKind[DashboardApp] = RecordKind(APP_KIND, APP_LABEL, _app_record, _app)


def create_dashboard_app(
    tr: Transaction,
    type: str,  # "type" as on the wire and in backups
    state: dict[str, Any] | None = None,
    dashboard_id: str | None = None,
    *,
    app_id: str | None = None,
    created_at: float | None = None,
    updated_at: float | None = None,
) -> DashboardApp:
    """Create an app with its ``state`` stored whole; ``app_id`` keeps a given id.

    Raises :class:`EntityExists` when the given id is taken, :class:`InvalidEntity` when ``state`` is
    not a dict or the encoded app is too large.
    """
    _APPS.require_str("type", type)
    entity_id = _APPS.new_id(tr, app_id)
    created, updated = timestamps(created_at, updated_at)
    app = DashboardApp(entity_id, type, _check_state(state), dashboard_id, created, updated)
    _APPS.write(tr, app)
    return app


def get_dashboard_app(tr: ReadTransaction, app_id: str) -> DashboardApp | None:
    """The app with this id, or ``None``."""
    return _APPS.get(tr, app_id)


def list_dashboard_apps(tr: ReadTransaction) -> list[DashboardApp]:
    """Every app, ordered by id."""
    return _APPS.all(tr)


def update_dashboard_app(
    tr: Transaction,
    app_id: str,
    *,
    type: str | Unset | None = UNSET,  # as on the wire
    state: dict[str, Any] | Unset | None = UNSET,
    dashboard_id: str | Unset | None = UNSET,
) -> tuple[DashboardApp, DashboardApp]:
    """Replace only the given fields wholesale (``state`` is not merged); returns (old, new).

    ``UNSET`` or ``None`` leaves ``type``/``state`` as they are; ``dashboard_id=None`` clears the link.
    Raises :class:`EntityNotFound`.
    """
    old = _APPS.existing(tr, app_id)
    changes: dict[str, Any] = {}
    if isinstance(type, str):
        changes["type"] = type
    if state is not None and not isinstance(state, Unset):
        changes["state"] = _check_state(state)
    if not isinstance(dashboard_id, Unset):
        changes["dashboard_id"] = dashboard_id
    return old, _APPS.save_changes(tr, old, changes)


def delete_dashboard_app(tr: Transaction, app_id: str) -> DashboardApp:
    """Remove the app for good; returns what was removed. Raises :class:`EntityNotFound`."""
    return _APPS.delete(tr, app_id)
