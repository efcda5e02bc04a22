"""Experiments: uniquely named groups of runs, with a run count kept in step by the run layer.

The store does not trim names or check that runs exist: the API trims, and :mod:`matyan_store.runs`
adjusts ``run_count`` (through :func:`adjust_experiment_run_count`) whenever a run joins or leaves.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from matyan_store.engine.base import ReadTransaction, Transaction
from matyan_store.entities.common import UNSET, Unset
from matyan_store.entities.kinds import NamedKind
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


_KIND: NamedKind[Experiment] = NamedKind(KIND, LABEL, Experiment, texts=("description",))


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
    return _KIND.create(
        tr,
        name,
        experiment_id,
        created_at=created_at,
        updated_at=updated_at,
        archived=archived,
        description=description,
    )


def get_experiment(tr: ReadTransaction, experiment_id: str) -> Experiment | None:
    """The experiment with this id, or ``None``."""
    return _KIND.get(tr, experiment_id)


def get_experiment_by_name(tr: ReadTransaction, name: str) -> Experiment | None:
    """The experiment named exactly ``name``, or ``None``."""
    return _KIND.get_by_name(tr, name)


def list_experiments(tr: ReadTransaction) -> list[Experiment]:
    """Every experiment, ordered by id (two range reads, whatever the number of runs)."""
    return _KIND.all(tr)


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
    return _KIND.update(tr, experiment_id, name=name, archived=archived, description=description)


def delete_experiment(tr: Transaction, experiment_id: str) -> Experiment:
    """Remove the experiment, its name entry, its run count and its notes; returns what was removed.

    Detaching its runs (their meta and index entries) belongs to the run layer and is the caller's
    to combine in the same transaction. Raises :class:`EntityNotFound`.
    """
    old = _KIND.delete(tr, experiment_id)
    # Notes of a deleted experiment are unreachable through the API; drop them rather than orphan them.
    delete_notes_for_experiment(tr, experiment_id)
    return old


def adjust_experiment_run_count(tr: Transaction, experiment_id: str, delta: int) -> None:
    """Add ``delta`` to the experiment's run count, clamped at 0; nothing happens if it does not exist."""
    _KIND.adjust_run_count(tr, experiment_id, delta)


def set_experiment_run_count(tr: Transaction, experiment_id: str, count: int) -> None:
    """Overwrite the run count (reindexing recounts it from the run links); ignores a missing experiment."""
    _KIND.set_run_count(tr, experiment_id, count)
