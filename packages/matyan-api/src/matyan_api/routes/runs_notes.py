"""Run notes: list, create, read, update, delete (docs/http-contract.md, Routes).

A note is reachable only through the run that owns it: another run's note id answers 404, as does any
note of a missing run or of a run pending deletion. Listing the notes of such a run gives ``[]``.
"""

from __future__ import annotations

from fastapi import APIRouter

from matyan_api.deps import EngineDep
from matyan_api.errors import ApiError
from matyan_api.routes.entity_common import NoteCreatedOut, NoteIn, NoteOut, NoteRowOut, StatusOut, note_out
from matyan_api.routes.runs_common import require_run
from matyan_store import entities
from matyan_store.engine import ReadTransaction, Transaction
from matyan_store.entities import Note
from matyan_store.runs import get_run

__all__ = ["RunNoteOut", "router"]

router = APIRouter(prefix="/runs", tags=["runs"])


class RunNoteOut(NoteRowOut):
    """One note in a run's note list; the reference calls the owning run ``run_hash``."""

    run_hash: str | None


def _listed(note: Note) -> RunNoteOut:
    return RunNoteOut(
        id=note.id,
        content=note.content,
        created_at=note.created_at,
        updated_at=note.updated_at,
        run_hash=note.run_id,
    )


def _run_note(tr: ReadTransaction, run_id: str, note_id: str) -> Note:
    require_run(tr, run_id)
    note = entities.get_note(tr, note_id)
    if note is None or note.run_id != run_id:
        raise ApiError(404)
    return note


@router.get("/{run_id}/note/")
async def list_run_notes(run_id: str, engine: EngineDep) -> list[RunNoteOut]:
    """The run's notes ordered by id; ``[]`` for an unknown run."""

    def read(tr: ReadTransaction) -> list[RunNoteOut]:
        if get_run(tr, run_id) is None:
            return []
        return [_listed(n) for n in entities.list_notes_for_run(tr, run_id)]

    return await engine.aread(read)


@router.post("/{run_id}/note/", status_code=201)
async def create_run_note(run_id: str, body: NoteIn, engine: EngineDep) -> NoteCreatedOut:
    """Create a note on the run: 201 ``{id, created_at}``; 404 for a missing run."""

    def apply(tr: Transaction) -> Note:
        require_run(tr, run_id)
        return entities.create_note(tr, content=body.content.strip(), run_id=run_id)

    note = await engine.atransact(apply)
    return NoteCreatedOut(id=note.id, created_at=note.created_at)


@router.get("/{run_id}/note/{note_id}/")
async def get_run_note(run_id: str, note_id: str, engine: EngineDep) -> NoteOut:
    """``{id, content, updated_at}`` of one of the run's notes."""
    return note_out(await engine.aread(lambda tr: _run_note(tr, run_id, note_id)))


@router.put("/{run_id}/note/{note_id}/")
async def update_run_note(run_id: str, note_id: str, body: NoteIn, engine: EngineDep) -> NoteOut:
    """Replace the content (trimmed) of one of the run's notes; ``{id, content, updated_at}``."""

    def apply(tr: Transaction) -> Note:
        _run_note(tr, run_id, note_id)
        _, new = entities.update_note(tr, note_id, content=body.content.strip())
        return new

    return note_out(await engine.atransact(apply))


@router.delete("/{run_id}/note/{note_id}/")
async def delete_run_note(run_id: str, note_id: str, engine: EngineDep) -> StatusOut:
    """Delete one of the run's notes; ``{"status": "OK"}``."""

    def apply(tr: Transaction) -> None:
        _run_note(tr, run_id, note_id)
        entities.delete_note(tr, note_id)

    await engine.atransact(apply)
    return StatusOut()
