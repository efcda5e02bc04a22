"""``entities.jsonl`` of a backup: experiments, tags, dashboards, dashboard apps, reports and notes.

Records use the reference's field names (``is_archived``, a note's ``run_hash``) so that either
backend reads either's backups; ours also carry ``archived`` and ``run_id``. Restoring keeps every
entity's id (docs/runbook.md, Backups): an experiment or tag whose name is already taken maps the backup's id
to the existing one, and runs and notes are linked through that mapping; dashboards, apps, reports
and notes whose id exists are skipped, so a repeated restore adds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from matyan_store import entities
from matyan_store.engine import ReadTransaction, Transaction

ENTITY_TYPES = ("experiment", "tag", "dashboard", "dashboard_app", "report", "note")


def read_entity_records(tr: ReadTransaction) -> list[dict[str, Any]]:
    """Every entity as a ``{"entity_type", "data"}`` record, in :data:`ENTITY_TYPES` order."""
    out: list[dict[str, Any]] = []
    for exp in entities.list_experiments(tr):
        data = exp.to_dict()
        data["is_archived"] = exp.archived
        out.append({"entity_type": "experiment", "data": data})
    for tag in entities.list_tags(tr):
        data = tag.to_dict()
        data["is_archived"] = tag.archived
        out.append({"entity_type": "tag", "data": data})
    for dash in entities.list_dashboards(tr):
        data = dash.to_dict()
        data["is_archived"] = dash.archived
        out.append({"entity_type": "dashboard", "data": data})
    out.extend(
        {"entity_type": "dashboard_app", "data": a.to_dict()} for a in entities.list_dashboard_apps(tr)
    )
    out.extend({"entity_type": "report", "data": r.to_dict()} for r in entities.list_reports(tr))
    for note in entities.list_notes(tr):
        data = note.to_dict()
        data["run_hash"] = note.run_id
        out.append({"entity_type": "note", "data": data})
    return out


@dataclass
class EntityRestore:
    """Outcome of restoring entities: id mappings and counts per entity type."""

    experiment_ids: dict[str, str] = field(default_factory=dict)
    tag_ids: dict[str, str] = field(default_factory=dict)
    created: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def merge(self, other: EntityRestore) -> None:
        """Add a batch's outcome (merged only after its transaction committed)."""
        self.experiment_ids.update(other.experiment_ids)
        self.tag_ids.update(other.tag_ids)
        for name, n in other.created.items():
            self.created[name] = self.created.get(name, 0) + n
        for name, n in other.skipped.items():
            self.skipped[name] = self.skipped.get(name, 0) + n
        self.problems.extend(other.problems)

    def count(self, kind: str, created: bool) -> None:
        """Count one entity as created or skipped."""
        target = self.created if created else self.skipped
        target[kind] = target.get(kind, 0) + 1

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {"created": dict(self.created), "skipped": dict(self.skipped), "problems": list(self.problems)}


def _opt_float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _archived(data: dict[str, Any]) -> bool:
    return bool(data.get("archived", data.get("is_archived", False)))


def _opt_str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def restore_entities(
    tr: Transaction, records: Iterable[dict[str, Any]], known: EntityRestore, dry_run: bool
) -> EntityRestore:
    """Restore a batch of records in ``tr``; ``known`` holds the mappings of earlier batches.

    With ``dry_run`` nothing is written and the outcome says what would happen.
    """
    part = EntityRestore()
    for record in records:
        kind = record.get("entity_type")
        data = record.get("data")
        if not isinstance(data, dict) or kind not in ENTITY_TYPES:
            part.problems.append(f"unknown entity record skipped: {str(record)[:200]}")
            continue
        try:
            _restore_one(tr, str(kind), data, known, part, dry_run)
        except (entities.EntityError, ValueError, TypeError) as exc:
            part.problems.append(f"{kind} {data.get('id')!r} not restored: {exc}")
    return part


def _restore_one(
    tr: Transaction, kind: str, data: dict[str, Any], known: EntityRestore, part: EntityRestore, dry_run: bool
) -> None:
    entity_id = _opt_str(data.get("id"))
    created_at, updated_at = _opt_float(data.get("created_at")), _opt_float(data.get("updated_at"))
    if kind in ("experiment", "tag"):
        name = str(data.get("name") or "").strip()
        by_id = (entities.get_experiment if kind == "experiment" else entities.get_tag)(tr, entity_id or "")
        by_name = (entities.get_experiment_by_name if kind == "experiment" else entities.get_tag_by_name)(
            tr, name
        )
        mapping = part.experiment_ids if kind == "experiment" else part.tag_ids
        existing = by_id or by_name
        if existing is not None:
            if entity_id:
                mapping[entity_id] = existing.id
            part.count(kind, created=False)
            return
        if dry_run:
            new_id = entity_id or f"(new {kind})"
        elif kind == "experiment":
            new_id = entities.create_experiment(
                tr,
                name,
                data.get("description"),
                experiment_id=entity_id,
                created_at=created_at,
                updated_at=updated_at,
                archived=_archived(data),
            ).id
        else:
            new_id = entities.create_tag(
                tr,
                name,
                data.get("color"),
                data.get("description"),
                tag_id=entity_id,
                created_at=created_at,
                updated_at=updated_at,
                archived=_archived(data),
            ).id
        if entity_id:
            mapping[entity_id] = new_id
        part.count(kind, created=True)
        return
    getter = {
        "dashboard": entities.get_dashboard,
        "dashboard_app": entities.get_dashboard_app,
        "report": entities.get_report,
        "note": entities.get_note,
    }[kind]
    if entity_id is not None and getter(tr, entity_id) is not None:
        part.count(kind, created=False)
        return
    part.count(kind, created=True)
    if dry_run:
        return
    if kind == "dashboard":
        entities.create_dashboard(
            tr,
            str(data.get("name") or ""),
            data.get("description"),
            _opt_str(data.get("app_id")),
            dashboard_id=entity_id,
            archived=_archived(data),
            created_at=created_at,
            updated_at=updated_at,
        )
    elif kind == "dashboard_app":
        state = data.get("state")
        entities.create_dashboard_app(
            tr,
            str(data.get("type") or ""),
            state if isinstance(state, dict) else {},
            _opt_str(data.get("dashboard_id")),
            app_id=entity_id,
            created_at=created_at,
            updated_at=updated_at,
        )
    elif kind == "report":
        entities.create_report(
            tr,
            str(data.get("name") or ""),
            data.get("code"),
            data.get("description"),
            report_id=entity_id,
            created_at=created_at,
            updated_at=updated_at,
        )
    else:
        exp_id = _opt_str(data.get("experiment_id"))
        if exp_id is not None:
            exp_id = known.experiment_ids.get(exp_id, part.experiment_ids.get(exp_id, exp_id))
        entities.create_note(
            tr,
            content=str(data.get("content") or ""),
            run_id=_opt_str(data.get("run_id", data.get("run_hash"))),
            experiment_id=exp_id,
            note_id=entity_id,
            created_at=created_at,
            updated_at=updated_at,
        )
