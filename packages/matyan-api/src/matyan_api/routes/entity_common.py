"""What the entity routers (experiments, tags, dashboards, reports, and the notes of runs) share.

A missing entity answers a bare 404, name search is a case-insensitive substring match, and the runs
of an entity are read in bounded chunks, one read transaction each, so a popular tag never turns into
one transaction over every run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import Final, Protocol

from pydantic import BaseModel

from matyan_api.errors import ApiError
from matyan_store.engine import Engine, ReadTransaction
from matyan_store.entities import Note

__all__ = [
    "RUNS_PER_READ",
    "IdStatusOut",
    "NoteCreatedOut",
    "NoteIn",
    "NoteOut",
    "NoteRowOut",
    "StatusOut",
    "found_or_404",
    "name_matches",
    "note_out",
    "read_in_chunks",
]

RUNS_PER_READ: Final = 500


class StatusOut(BaseModel):
    """``{"status": "OK"}``."""

    status: str = "OK"


class IdStatusOut(BaseModel):
    """``{"id": ..., "status": "OK"}``."""

    id: str
    status: str = "OK"


class NoteIn(BaseModel):
    """Body of a note's creation or update (experiment and run notes): the content, trimmed on use."""

    content: str


class NoteCreatedOut(BaseModel):
    """A created note: ``{id, created_at}``."""

    id: str
    created_at: float


class NoteOut(BaseModel):
    """One note as read or updated: ``{id, content, updated_at}``."""

    id: str
    content: str
    updated_at: float


class NoteRowOut(BaseModel):
    """The fields of a row of a note list; each owner kind adds the field naming its owner."""

    id: str
    content: str
    created_at: float
    updated_at: float


def note_out(note: Note) -> NoteOut:
    return NoteOut(id=note.id, content=note.content, updated_at=note.updated_at)


class _Named(Protocol):
    @property
    def name(self) -> str: ...


def found_or_404[T](entity: T | None) -> T:
    """``entity`` itself, or a 404 when the store found nothing."""
    if entity is None:
        raise ApiError(404)
    return entity


def name_matches[T: _Named](items: Iterable[T], q: str | None) -> list[T]:
    """The items whose name contains ``q`` (trimmed), ignoring case; all of them for an empty ``q``."""
    needle = (q or "").strip().lower()
    return [item for item in items if needle in item.name.lower()]


async def read_in_chunks[R](
    engine: Engine,
    run_ids: list[str],
    read: Callable[[ReadTransaction, list[str]], Sequence[R]],
) -> list[R]:
    """``read`` over ``run_ids`` in chunks of :data:`RUNS_PER_READ`, results joined in order."""
    found: list[R] = []
    for start in range(0, len(run_ids), RUNS_PER_READ):
        found.extend(await engine.aread(partial(_read_slice, read, run_ids[start : start + RUNS_PER_READ])))
    return found


def _read_slice[R](
    read: Callable[[ReadTransaction, list[str]], Sequence[R]], run_ids: list[str], tr: ReadTransaction
) -> Sequence[R]:
    return read(tr, run_ids)
