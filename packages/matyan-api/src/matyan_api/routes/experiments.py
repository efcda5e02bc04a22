"""``/api/v1/rest/experiments``: CRUD, search, runs, hourly activity and notes."""

from __future__ import annotations

from functools import partial

from fastapi import APIRouter, status
from pydantic import BaseModel

from matyan_api.activity import HOUR_FORMAT, activity_map
from matyan_api.deps import EngineDep, PublisherDep, TimezoneOffset
from matyan_api.errors import ApiError
from matyan_api.event_outbox import publish_recorded, record_control
from matyan_api.routes.entity_common import (
    IdStatusOut,
    NoteCreatedOut,
    NoteIn,
    NoteOut,
    NoteRowOut,
    StatusOut,
    found_or_404,
    name_matches,
    note_out,
    read_in_chunks,
)
from matyan_models import ControlEventType
from matyan_store import indexes, runs
from matyan_store.engine import ReadTransaction, Transaction
from matyan_store.entities import (
    UNSET,
    Experiment,
    Note,
    Unset,
    create_experiment,
    create_note,
    delete_experiment,
    delete_note,
    get_experiment,
    get_note,
    list_experiments,
    list_notes_for_experiment,
    update_experiment,
    update_note,
)
from matyan_store.ordered_outbox import OrderedEntry

__all__ = ["router"]

router = APIRouter(prefix="/experiments", tags=["experiments"])


class ExperimentOut(BaseModel):
    """An experiment (``ExperimentGetOut``)."""

    id: str
    name: str
    description: str | None
    run_count: int
    archived: bool
    creation_time: float | None


class ExperimentCreateIn(BaseModel):
    """``POST /experiments/`` body."""

    name: str


class ExperimentUpdateIn(BaseModel):
    """``PUT /experiments/{id}/`` body: only the fields present change."""

    name: str | None = None
    description: str | None = None
    archived: bool | None = None


class ExperimentRunOut(BaseModel):
    """One run of an experiment."""

    run_id: str
    name: str
    creation_time: float
    end_time: float | None
    archived: bool


class ExperimentRunsOut(BaseModel):
    """``GET /experiments/{id}/runs/``."""

    id: str
    runs: list[ExperimentRunOut]


class ExperimentActivityOut(BaseModel):
    """``GET /experiments/{id}/activity/``: counts and runs created per (local) hour."""

    num_runs: int
    num_archived_runs: int
    num_active_runs: int
    activity_map: dict[str, int]


def _out(exp: Experiment) -> ExperimentOut:
    return ExperimentOut(
        id=exp.id,
        name=exp.name,
        description=exp.description,
        run_count=exp.run_count,
        archived=exp.archived,
        creation_time=exp.created_at or None,
    )


def _require(tr: ReadTransaction, exp_id: str) -> Experiment:
    return found_or_404(get_experiment(tr, exp_id))


@router.get("/")
async def list_all(engine: EngineDep) -> list[ExperimentOut]:
    """Every experiment (ordered by id)."""
    return [_out(e) for e in await engine.aread(list_experiments)]


@router.get("/search/")
async def search(engine: EngineDep, q: str | None = None) -> list[ExperimentOut]:
    """Experiments whose name contains ``q``, ignoring case; all of them for an empty ``q``."""
    return [_out(e) for e in name_matches(await engine.aread(list_experiments), q)]


@router.post("/")
async def create(body: ExperimentCreateIn, engine: EngineDep) -> IdStatusOut:
    """Create an experiment; 400 if the (trimmed) name is taken or empty."""
    name = body.name.strip()
    exp = await engine.atransact(lambda tr: create_experiment(tr, name))
    return IdStatusOut(id=exp.id)


@router.get("/{exp_id}/")
async def get_one(exp_id: str, engine: EngineDep) -> ExperimentOut:
    """One experiment, or 404."""
    return _out(await engine.aread(partial(_require, exp_id=exp_id)))


@router.put("/{exp_id}/")
async def update(exp_id: str, body: ExperimentUpdateIn, engine: EngineDep) -> IdStatusOut:
    """Change the fields present in the body; an empty name is ignored, a null description clears it."""
    given = body.model_fields_set
    name = (body.name or "").strip()
    description: str | Unset = UNSET
    if "description" in given:
        description = body.description or ""

    def write(tr: Transaction) -> None:
        _require(tr, exp_id)
        update_experiment(
            tr,
            exp_id,
            name=name or UNSET,
            description=description,
            archived=body.archived if body.archived is not None else UNSET,
        )

    await engine.atransact(write)
    return IdStatusOut(id=exp_id)


@router.delete("/{exp_id}/")
async def delete(exp_id: str, engine: EngineDep, publisher: PublisherDep) -> StatusOut:
    """Delete the experiment and detach its runs (one transaction), then emit ``experiment_deleted``."""

    def write(tr: Transaction) -> OrderedEntry:
        _require(tr, exp_id)
        runs.detach_experiment(tr, exp_id)
        delete_experiment(tr, exp_id)
        return record_control(
            tr, f"experiment/{exp_id}", ControlEventType.EXPERIMENT_DELETED, {"experiment_id": exp_id}
        )

    await publish_recorded(engine, publisher, [await engine.atransact(write)])
    return StatusOut()


def _run_rows(tr: ReadTransaction, run_ids: list[str]) -> list[ExperimentRunOut]:
    rows: list[ExperimentRunOut] = []
    for run_id, meta in zip(run_ids, runs.get_runs(tr, run_ids), strict=True):
        if meta is None:  # pending deletion
            continue
        rows.append(
            ExperimentRunOut(
                run_id=run_id,
                name=meta.name,
                creation_time=meta.created_at,
                end_time=meta.finalized_at,
                archived=meta.archived,
            )
        )
    return rows


def _run_ids(tr: ReadTransaction, exp_id: str) -> list[str]:
    _require(tr, exp_id)
    return indexes.lookup(tr, "experiment", exp_id)


@router.get("/{exp_id}/runs/")
async def experiment_runs(
    exp_id: str, engine: EngineDep, limit: int | None = None, offset: str | None = None
) -> ExperimentRunsOut:
    """The experiment's runs by run id, starting after run ``offset`` (unknown: from the start).

    ``limit`` applies before runs pending deletion are left out, so fewer may come back.
    """
    run_ids = await engine.aread(partial(_run_ids, exp_id=exp_id))
    if offset is not None and offset in run_ids:
        run_ids = run_ids[run_ids.index(offset) + 1 :]
    if limit is not None:
        run_ids = run_ids[: max(0, limit)]
    return ExperimentRunsOut(id=exp_id, runs=await read_in_chunks(engine, run_ids, _run_rows))


@router.get("/{exp_id}/activity/")
async def experiment_activity(
    exp_id: str, engine: EngineDep, x_timezone_offset: TimezoneOffset = 0
) -> ExperimentActivityOut:
    """Run counts and runs created per hour in the client's time zone; pending runs are skipped."""
    run_ids = await engine.aread(partial(_run_ids, exp_id=exp_id))
    created: list[float] = []
    archived = active = 0
    for row in await read_in_chunks(engine, run_ids, runs.get_runs):
        if row is None:
            continue
        created.append(row.created_at)
        archived += row.archived
        active += row.active
    return ExperimentActivityOut(
        num_runs=len(created),
        num_archived_runs=archived,
        num_active_runs=active,
        activity_map=activity_map(created, x_timezone_offset, HOUR_FORMAT),
    )


class ExperimentNoteOut(NoteRowOut):
    """One note in an experiment's note list."""

    experiment_id: str | None


def _listed(note: Note) -> ExperimentNoteOut:
    return ExperimentNoteOut(
        id=note.id,
        content=note.content,
        created_at=note.created_at,
        updated_at=note.updated_at,
        experiment_id=note.experiment_id,
    )


def _owned_note(tr: ReadTransaction, exp_id: str, note_id: str) -> Note:
    note = get_note(tr, note_id)
    if note is None or note.experiment_id != exp_id:
        raise ApiError(404)
    return note


def _notes(tr: ReadTransaction, exp_id: str) -> list[ExperimentNoteOut]:
    _require(tr, exp_id)
    return [_listed(n) for n in list_notes_for_experiment(tr, exp_id)]


@router.get("/{exp_id}/note/")
async def list_experiment_notes(exp_id: str, engine: EngineDep) -> list[ExperimentNoteOut]:
    """The experiment's notes (ordered by note id); 404 if the experiment is missing."""
    return await engine.aread(partial(_notes, exp_id=exp_id))


@router.post("/{exp_id}/note/", status_code=status.HTTP_201_CREATED)
async def create_experiment_note(exp_id: str, body: NoteIn, engine: EngineDep) -> NoteCreatedOut:
    """Add a note (content trimmed) to the experiment."""
    content = body.content.strip()

    def write(tr: Transaction) -> Note:
        _require(tr, exp_id)
        return create_note(tr, content=content, experiment_id=exp_id)

    note = await engine.atransact(write)
    return NoteCreatedOut(id=note.id, created_at=note.created_at)


@router.get("/{exp_id}/note/{note_id}/")
async def get_experiment_note(exp_id: str, note_id: str, engine: EngineDep) -> NoteOut:
    """One note of this experiment, or 404."""
    note = await engine.aread(partial(_owned_note, exp_id=exp_id, note_id=note_id))
    return note_out(note)


@router.put("/{exp_id}/note/{note_id}/")
async def update_experiment_note(exp_id: str, note_id: str, body: NoteIn, engine: EngineDep) -> NoteOut:
    """Replace a note's content (trimmed)."""
    content = body.content.strip()

    def write(tr: Transaction) -> Note:
        _owned_note(tr, exp_id, note_id)
        return update_note(tr, note_id, content=content)[1]

    note = await engine.atransact(write)
    return note_out(note)


@router.delete("/{exp_id}/note/{note_id}/")
async def delete_experiment_note(exp_id: str, note_id: str, engine: EngineDep) -> StatusOut:
    """Delete a note of this experiment."""

    def write(tr: Transaction) -> None:
        _owned_note(tr, exp_id, note_id)
        delete_note(tr, note_id)

    await engine.atransact(write)
    return StatusOut()
