"""Notes attached to a run or an experiment, listed by owner through an owner index (never a scan).

Besides the record, each owner of a note has an entry ``("note", "o", owner_kind, owner_id, note_id)``
(``owner_kind`` is ``"run"`` or ``"experiment"``), so a run's or experiment's notes come from one range
read in note-id order, the order the API lists them in. Callers check that the owner exists; the store
only requires that a note has one.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from matyan_store.engine.base import ReadTransaction, Transaction
from matyan_store.entities import common
from matyan_store.entities.common import InvalidEntity
from matyan_store.entities.kinds import RecordKind, timestamps

__all__ = [
    "Note",
    "create_note",
    "delete_note",
    "delete_notes_for_experiment",
    "delete_notes_for_run",
    "get_note",
    "list_notes",
    "list_notes_for_experiment",
    "list_notes_for_run",
    "update_note",
]

KIND = "note"
LABEL = "Note"
_OWNERS = "o"
_RUN = "run"
_EXPERIMENT = "experiment"


@dataclass(frozen=True, slots=True)
class Note:
    """A note owned by ``run_id`` and/or ``experiment_id`` (the reference calls ``run_id`` run_hash)."""

    id: str
    content: str = ""
    run_id: str | None = None
    experiment_id: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Every field as a plain dict, ``id`` included."""
        return dataclasses.asdict(self)

    def owners(self) -> list[tuple[str, str]]:
        """``(owner_kind, owner_id)`` of each owner."""
        found: list[tuple[str, str]] = []
        if self.run_id is not None:
            found.append((_RUN, self.run_id))
        if self.experiment_id is not None:
            found.append((_EXPERIMENT, self.experiment_id))
        return found


def _record(n: Note) -> dict[str, Any]:
    return {
        "content": n.content,
        "run_id": n.run_id,
        "experiment_id": n.experiment_id,
        "created_at": n.created_at,
        "updated_at": n.updated_at,
    }


def _from_record(entity_id: str, f: dict[str, Any]) -> Note:
    run_id, exp_id = f.get("run_id"), f.get("experiment_id")
    return Note(
        id=entity_id,
        content=str(f.get("content") or ""),
        run_id=None if run_id is None else str(run_id),
        experiment_id=None if exp_id is None else str(exp_id),
        created_at=float(f.get("created_at") or 0.0),
        updated_at=float(f.get("updated_at") or 0.0),
    )


_KIND: RecordKind[Note] = RecordKind(KIND, LABEL, _record, _from_record)


def _owner_key(owner_kind: str, owner_id: str, note_id: str) -> bytes:
    return common.kind_space(KIND).pack((_OWNERS, owner_kind, owner_id, note_id))


def create_note(
    tr: Transaction,
    *,
    content: str,
    run_id: str | None = None,
    experiment_id: str | None = None,
    note_id: str | None = None,
    created_at: float | None = None,
    updated_at: float | None = None,
) -> Note:
    """Create a note owned by ``run_id`` and/or ``experiment_id`` (at least one); ``note_id`` keeps an id.

    Raises :class:`InvalidEntity` without an owner (or with an over-long owner id), :class:`EntityExists`
    when the given id is taken.
    """
    if run_id is None and experiment_id is None:
        raise InvalidEntity("a note needs an owner: pass run_id or experiment_id")
    for owner in (run_id, experiment_id):
        if owner is not None:
            common.check_id("Note owner", owner)
    entity_id = _KIND.new_id(tr, note_id)
    created, updated = timestamps(created_at, updated_at)
    note = Note(entity_id, content or "", run_id, experiment_id, created, updated)
    _KIND.write(tr, note)
    for owner_kind, owner_id in note.owners():
        tr.set(_owner_key(owner_kind, owner_id, entity_id), b"")
    return note


def get_note(tr: ReadTransaction, note_id: str) -> Note | None:
    """The note with this id, or ``None`` (callers compare its owner with the route's)."""
    return _KIND.get(tr, note_id)


def list_notes(tr: ReadTransaction) -> list[Note]:
    """Every note, ordered by id (for backups)."""
    return _KIND.all(tr)


def _owned(tr: ReadTransaction, owner_kind: str, owner_id: str) -> list[str]:
    if not common.fits_key(owner_id, common.MAX_ID_BYTES):
        return []
    space = common.kind_space(KIND)
    begin, end = space.range((_OWNERS, owner_kind, owner_id))
    return [space.unpack(key)[-1] for key, _ in tr.get_range(begin, end)]


def _notes(tr: ReadTransaction, ids: list[str]) -> list[Note]:
    notes = (get_note(tr, note_id) for note_id in ids)
    return [n for n in notes if n is not None]


def list_notes_for_run(tr: ReadTransaction, run_id: str) -> list[Note]:
    """The run's notes, ordered by note id (an unknown run simply has none)."""
    return _notes(tr, _owned(tr, _RUN, run_id))


def list_notes_for_experiment(tr: ReadTransaction, experiment_id: str) -> list[Note]:
    """The experiment's notes, ordered by note id."""
    return _notes(tr, _owned(tr, _EXPERIMENT, experiment_id))


def update_note(tr: Transaction, note_id: str, *, content: str) -> tuple[Note, Note]:
    """Replace the note's content and set ``updated_at``; returns (old, new).

    Raises :class:`EntityNotFound`.
    """
    old = _KIND.existing(tr, note_id)
    return old, _KIND.save_changes(tr, old, {"content": content or ""})


def _remove(tr: Transaction, note: Note) -> None:
    common.clear_record(tr, KIND, note.id)
    for owner_kind, owner_id in note.owners():
        tr.clear(_owner_key(owner_kind, owner_id, note.id))


def delete_note(tr: Transaction, note_id: str) -> Note:
    """Remove the note and its owner entries; returns what was removed. Raises :class:`EntityNotFound`."""
    old = _KIND.existing(tr, note_id)
    _remove(tr, old)
    return old


def _delete_owned(tr: Transaction, owner_kind: str, owner_id: str) -> int:
    ids = _owned(tr, owner_kind, owner_id)
    for note in _notes(tr, ids):
        _remove(tr, note)
    # Owner entries whose record is already gone would otherwise stay forever.
    for note_id in ids:
        tr.clear(_owner_key(owner_kind, owner_id, note_id))
    return len(ids)


def delete_notes_for_run(tr: Transaction, run_id: str) -> int:
    """Remove every note of the run (when the run is deleted); returns how many there were."""
    return _delete_owned(tr, _RUN, run_id)


def delete_notes_for_experiment(tr: Transaction, experiment_id: str) -> int:
    """Remove every note of the experiment (when it is deleted); returns how many there were."""
    return _delete_owned(tr, _EXPERIMENT, experiment_id)
