"""Reports: named markdown documents of the UI (``code`` holds the text; it may exceed one value)."""

from __future__ import annotations

import dataclasses
import time
import uuid
from dataclasses import dataclass
from typing import Any

from matyan_store.engine.base import ReadTransaction, Transaction
from matyan_store.entities import common
from matyan_store.entities.common import UNSET, EntityExists, EntityNotFound, InvalidEntity, Unset

__all__ = ["Report", "create_report", "delete_report", "get_report", "list_reports", "update_report"]

KIND = "report"
LABEL = "Report"


@dataclass(frozen=True, slots=True)
class Report:
    """A saved report."""

    id: str
    name: str
    code: str = ""
    description: str = ""
    created_at: float = 0.0
    updated_at: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Every field as a plain dict, ``id`` included."""
        return dataclasses.asdict(self)


def _record(r: Report) -> dict[str, Any]:
    return {
        "name": r.name,
        "code": r.code,
        "description": r.description,
        "created_at": r.created_at,
        "updated_at": r.updated_at,
    }


def _from_record(entity_id: str, f: dict[str, Any]) -> Report:
    return Report(
        id=entity_id,
        name=str(f.get("name", "")),
        code=str(f.get("code") or ""),
        description=str(f.get("description") or ""),
        created_at=float(f.get("created_at") or 0.0),
        updated_at=float(f.get("updated_at") or 0.0),
    )


def create_report(
    tr: Transaction,
    name: str,
    code: str | None = "",
    description: str | None = "",
    *,
    report_id: str | None = None,
    created_at: float | None = None,
    updated_at: float | None = None,
) -> Report:
    """Create a report (``None`` code/description are stored as ``""``); ``report_id`` keeps a given id.

    Raises :class:`EntityExists` when the given id is taken.
    """
    if not isinstance(name, str):
        raise InvalidEntity(f"{LABEL} name must be a string, got {name!r}")
    if report_id is None:
        entity_id = str(uuid.uuid4())
    else:
        entity_id = common.check_id(LABEL, report_id)
        if common.read_record(tr, KIND, entity_id) is not None:
            raise EntityExists(LABEL, "id", entity_id)
    created = time.time() if created_at is None else float(created_at)
    report = Report(
        id=entity_id,
        name=name,
        code=code or "",
        description=description or "",
        created_at=created,
        updated_at=created if updated_at is None else float(updated_at),
    )
    common.write_record(tr, KIND, entity_id, _record(report), LABEL)
    return report


def get_report(tr: ReadTransaction, report_id: str) -> Report | None:
    """The report with this id, or ``None``."""
    fields = common.read_record(tr, KIND, report_id)
    return None if fields is None else _from_record(report_id, fields)


def list_reports(tr: ReadTransaction) -> list[Report]:
    """Every report, ordered by id."""
    return [_from_record(i, f) for i, f in common.iter_records(tr, KIND)]


def update_report(
    tr: Transaction,
    report_id: str,
    *,
    name: str | Unset | None = UNSET,
    code: str | Unset | None = UNSET,
    description: str | Unset | None = UNSET,
) -> tuple[Report, Report]:
    """Change only the given fields (``UNSET`` or ``None`` leaves one as it is); returns (old, new).

    Raises :class:`EntityNotFound`.
    """
    old = get_report(tr, report_id)
    if old is None:
        raise EntityNotFound(LABEL, report_id)
    changes: dict[str, Any] = {"updated_at": time.time()}
    for field_name, value in (("name", name), ("code", code), ("description", description)):
        if isinstance(value, str):
            changes[field_name] = value
    new = dataclasses.replace(old, **changes)
    common.write_record(tr, KIND, report_id, _record(new), LABEL)
    return old, new


def delete_report(tr: Transaction, report_id: str) -> Report:
    """Remove the report; returns what was removed. Raises :class:`EntityNotFound`."""
    old = get_report(tr, report_id)
    if old is None:
        raise EntityNotFound(LABEL, report_id)
    common.clear_record(tr, KIND, report_id)
    return old
