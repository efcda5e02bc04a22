"""Experiments: uniquely named groups of runs, with a run count kept in step by the run layer.

The store does not trim names or check that runs exist: the API trims, and :mod:`matyan_store.runs`
adjusts ``run_count`` (through :func:`adjust_experiment_run_count`) whenever a run joins or leaves.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from dataclasses import dataclass
from typing import Any

from matyan_store.engine.base import ReadTransaction, Transaction
from matyan_store.entities import common
from matyan_store.entities.common import UNSET, EntityExists, EntityNotFound, Unset
from matyan_store.entities.notes import delete_notes_for_experiment

__all__ = [
    "Experiment",
    "adjust_experiment_run_count",
    "create_experiment",
    "delete_experiment",
    "get_experiment",
    "get_experiment_by_name",
    "list_experiments",
    "set_experiment_run_count",
    "update_experiment",
]

KIND = "experiment"
LABEL = "Experiment"


@dataclass(frozen=True, slots=True)
class Experiment:
    """One experiment as the store knows it (``run_count`` counts the runs attached to it)."""

    id: str
    name: str
    description: str = ""
    archived: bool = False
    run_count: int = 0
    created_at: float = 0.0
    updated_at: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Every field as a plain dict, ``id`` included."""
        return dataclasses.asdict(self)


def _record(exp: Experiment) -> dict[str, Any]:
    return {
        "name": exp.name,
        "description": exp.description,
        "archived": exp.archived,
        "created_at": exp.created_at,
        "updated_at": exp.updated_at,
    }


def _from_record(entity_id: str, fields: dict[str, Any], run_count: int) -> Experiment:
    return Experiment(
        id=entity_id,
        name=str(fields.get("name", "")),
        description=str(fields.get("description") or ""),
        archived=bool(fields.get("archived", False)),
        run_count=run_count,
        created_at=float(fields.get("created_at") or 0.0),
        updated_at=float(fields.get("updated_at") or 0.0),
    )


def create_experiment(
    tr: Transaction,
    name: str,
    description: str | None = "",
    *,
    experiment_id: str | None = None,
    created_at: float | None = None,
    updated_at: float | None = None,
    archived: bool = False,
) -> Experiment:
    """Create an experiment named ``name`` (already trimmed by the caller).

    ``experiment_id`` keeps a given id (restores need it); otherwise a new ``str(uuid4())``.
    Raises :class:`EntityExists` when the name or the given id is taken, :class:`InvalidEntity` for an
    empty or over-long name or id.
    """
    common.check_name(LABEL, name)
    entity_id = str(uuid.uuid4()) if experiment_id is None else common.check_id(LABEL, experiment_id)
    if common.read_record(tr, KIND, entity_id) is not None:
        raise EntityExists(LABEL, "id", entity_id)
    common.claim_name(tr, KIND, name, entity_id, LABEL)
    now = time.time()
    created = now if created_at is None else float(created_at)
    exp = Experiment(
        id=entity_id,
        name=name,
        description=description or "",
        archived=bool(archived),
        created_at=created,
        updated_at=created if updated_at is None else float(updated_at),
    )
    common.write_record(tr, KIND, entity_id, _record(exp), LABEL)
    # A restore may reuse an id whose counter was left behind; a new experiment starts at zero runs.
    common.clear_count(tr, KIND, entity_id)
    return exp


def get_experiment(tr: ReadTransaction, experiment_id: str) -> Experiment | None:
    """The experiment with this id, or ``None``."""
    fields = common.read_record(tr, KIND, experiment_id)
    if fields is None:
        return None
    return _from_record(experiment_id, fields, common.read_count(tr, KIND, experiment_id))


def get_experiment_by_name(tr: ReadTransaction, name: str) -> Experiment | None:
    """The experiment named exactly ``name``, or ``None``."""
    owner = common.name_owner(tr, KIND, name)
    return None if owner is None else get_experiment(tr, owner)


def list_experiments(tr: ReadTransaction) -> list[Experiment]:
    """Every experiment, ordered by id (two range reads, whatever the number of runs)."""
    counts = common.read_counts(tr, KIND)
    return [_from_record(eid, fields, counts.get(eid, 0)) for eid, fields in common.iter_records(tr, KIND)]


def update_experiment(
    tr: Transaction,
    experiment_id: str,
    *,
    name: str | Unset | None = UNSET,
    description: str | Unset | None = UNSET,
    archived: bool | Unset | None = UNSET,
) -> tuple[Experiment, Experiment]:
    """Change only the given fields (``UNSET`` or ``None`` leaves a field as it is); returns (old, new).

    A rename moves the unique-name entry; the run index is keyed by experiment id, so it needs no
    change. Raises :class:`EntityNotFound`, :class:`EntityExists` when another experiment has the new
    name, :class:`InvalidEntity` for an empty name. ``updated_at`` is set to now.
    """
    old = get_experiment(tr, experiment_id)
    if old is None:
        raise EntityNotFound(LABEL, experiment_id)
    changes: dict[str, Any] = {"updated_at": time.time()}
    if isinstance(name, str) and name != old.name:
        common.claim_name(tr, KIND, name, experiment_id, LABEL)
        common.release_name(tr, KIND, old.name, experiment_id)
        changes["name"] = name
    if isinstance(description, str):
        changes["description"] = description
    if isinstance(archived, bool):
        changes["archived"] = archived
    new = dataclasses.replace(old, **changes)
    common.write_record(tr, KIND, experiment_id, _record(new), LABEL)
    return old, new


def delete_experiment(tr: Transaction, experiment_id: str) -> Experiment:
    """Remove the experiment, its name entry, its run count and its notes; returns what was removed.

    Detaching its runs (their meta and index entries) belongs to the run layer and is the caller's
    to combine in the same transaction. Raises :class:`EntityNotFound`.
    """
    old = get_experiment(tr, experiment_id)
    if old is None:
        raise EntityNotFound(LABEL, experiment_id)
    common.release_name(tr, KIND, old.name, experiment_id)
    common.clear_record(tr, KIND, experiment_id)
    common.clear_count(tr, KIND, experiment_id)
    # Notes of a deleted experiment are unreachable through the API; drop them rather than orphan them.
    delete_notes_for_experiment(tr, experiment_id)
    return old


def adjust_experiment_run_count(tr: Transaction, experiment_id: str, delta: int) -> None:
    """Add ``delta`` to the experiment's run count, clamped at 0; nothing happens if it does not exist."""
    common.adjust_count(tr, KIND, experiment_id, delta)


def set_experiment_run_count(tr: Transaction, experiment_id: str, count: int) -> None:
    """Overwrite the run count (reindexing recounts it from the run links); ignores a missing experiment."""
    if common.read_record(tr, KIND, experiment_id) is not None:
        common.set_count(tr, KIND, experiment_id, count)
