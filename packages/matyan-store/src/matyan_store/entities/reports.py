"""Reports: named markdown documents of the UI (``code`` holds the text; it may exceed one value)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from matyan_store.engine.base import ReadTransaction, Transaction
from matyan_store.entities.common import UNSET, Unset
from matyan_store.entities.kinds import RecordKind, timestamps

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


_KIND: RecordKind[Report] = RecordKind(KIND, LABEL, _record, _from_record)


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
    _KIND.require_str("name", name)
    entity_id = _KIND.new_id(tr, report_id)
    created, updated = timestamps(created_at, updated_at)
    report = Report(entity_id, name, code or "", description or "", created, updated)
    _KIND.write(tr, report)
    return report


def get_report(tr: ReadTransaction, report_id: str) -> Report | None:
    """The report with this id, or ``None``."""
    return _KIND.get(tr, report_id)


def list_reports(tr: ReadTransaction) -> list[Report]:
    """Every report, ordered by id."""
    return _KIND.all(tr)


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
    old = _KIND.existing(tr, report_id)
    given = (("name", name), ("code", code), ("description", description))
    changes = {field_name: value for field_name, value in given if isinstance(value, str)}
    return old, _KIND.save_changes(tr, old, changes)


def delete_report(tr: Transaction, report_id: str) -> Report:
    """Remove the report; returns what was removed. Raises :class:`EntityNotFound`."""
    return _KIND.delete(tr, report_id)
