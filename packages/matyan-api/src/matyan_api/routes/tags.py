"""``/api/v1/rest/tags``: CRUD, search and the runs of a tag."""

from __future__ import annotations

from functools import partial

from fastapi import APIRouter
from pydantic import BaseModel

from matyan_api.deps import EngineDep, PublisherDep
from matyan_api.event_outbox import publish_recorded, record_control
from matyan_api.routes.entity_common import IdStatusOut, found_or_404, name_matches, read_in_chunks
from matyan_models import ControlEventType
from matyan_store import indexes, runs
from matyan_store.engine import ReadTransaction, Transaction
from matyan_store.entities import (
    UNSET,
    Tag,
    Unset,
    create_tag,
    delete_tag,
    get_experiment,
    get_tag,
    list_tags,
    update_tag,
)
from matyan_store.ordered_outbox import OrderedEntry

__all__ = ["router"]

router = APIRouter(prefix="/tags", tags=["tags"])


class TagOut(BaseModel):
    """A tag (``TagGetOut``)."""

    id: str
    name: str
    color: str | None
    description: str | None
    run_count: int
    archived: bool


class TagCreateIn(BaseModel):
    """``POST /tags/`` body; color and description are stored as ``""`` when not given."""

    name: str
    color: str | None = ""
    description: str | None = ""


class TagUpdateIn(BaseModel):
    """``PUT /tags/{id}/`` body: an empty name is ignored, absent or null fields are left as they are."""

    name: str = ""
    color: str | None = None
    description: str | None = None
    archived: bool | None = None


class TagRunOut(BaseModel):
    """One run carrying a tag."""

    run_id: str
    name: str
    experiment: str | None
    creation_time: float
    end_time: float | None


class TagRunsOut(BaseModel):
    """``GET /tags/{id}/runs/``."""

    id: str
    runs: list[TagRunOut]


def _out(tag: Tag) -> TagOut:
    return TagOut(
        id=tag.id,
        name=tag.name,
        color=tag.color,
        description=tag.description,
        run_count=tag.run_count,
        archived=tag.archived,
    )


def _require(tr: ReadTransaction, tag_id: str) -> Tag:
    return found_or_404(get_tag(tr, tag_id))


def _trimmed(value: str | None) -> str | Unset:
    return UNSET if value is None else value.strip()


@router.get("/")
async def list_all(engine: EngineDep) -> list[TagOut]:
    """Every tag (ordered by id)."""
    return [_out(t) for t in await engine.aread(list_tags)]


@router.get("/search/")
async def search(engine: EngineDep, q: str = "") -> list[TagOut]:
    """Tags whose name contains ``q``, ignoring case; all of them for an empty ``q``."""
    return [_out(t) for t in name_matches(await engine.aread(list_tags), q)]


@router.post("/")
async def create(body: TagCreateIn, engine: EngineDep) -> IdStatusOut:
    """Create a tag (name, color, description trimmed); 400 if the name is taken or empty."""
    name = body.name.strip()
    color = (body.color or "").strip()
    description = (body.description or "").strip()
    tag = await engine.atransact(lambda tr: create_tag(tr, name, color, description))
    return IdStatusOut(id=tag.id)


@router.get("/{tag_id}/")
async def get_one(tag_id: str, engine: EngineDep) -> TagOut:
    """One tag, or 404."""
    return _out(await engine.aread(partial(_require, tag_id=tag_id)))


@router.put("/{tag_id}/")
async def update(tag_id: str, body: TagUpdateIn, engine: EngineDep) -> IdStatusOut:
    """Change the given fields; a renamed tag keeps its runs (the run index is keyed by tag id)."""
    name = body.name.strip()

    def write(tr: Transaction) -> None:
        _require(tr, tag_id)
        update_tag(
            tr,
            tag_id,
            name=name or UNSET,
            color=_trimmed(body.color),
            description=_trimmed(body.description),
            archived=UNSET if body.archived is None else body.archived,
        )

    await engine.atransact(write)
    return IdStatusOut(id=tag_id)


@router.delete("/{tag_id}/")
async def delete(tag_id: str, engine: EngineDep, publisher: PublisherDep) -> None:
    """Delete the tag and unlink it from its runs (one transaction), then emit ``tag_deleted``."""

    def write(tr: Transaction) -> OrderedEntry:
        _require(tr, tag_id)
        runs.detach_tag(tr, tag_id)
        delete_tag(tr, tag_id)
        return record_control(tr, f"tag/{tag_id}", ControlEventType.TAG_DELETED, {"tag_id": tag_id})

    await publish_recorded(engine, publisher, [await engine.atransact(write)])


def _run_ids(tr: ReadTransaction, tag_id: str) -> list[str]:
    _require(tr, tag_id)
    return indexes.lookup(tr, "tag", tag_id)


def _run_rows(tr: ReadTransaction, run_ids: list[str], names: dict[str, str | None]) -> list[TagRunOut]:
    rows: list[TagRunOut] = []
    for run_id, meta in zip(run_ids, runs.get_runs(tr, run_ids), strict=True):
        if meta is None:  # pending deletion
            continue
        experiment: str | None = None
        if meta.experiment_id is not None:
            if meta.experiment_id not in names:
                exp = get_experiment(tr, meta.experiment_id)
                names[meta.experiment_id] = None if exp is None else exp.name
            experiment = names[meta.experiment_id]
        rows.append(
            TagRunOut(
                run_id=run_id,
                name=meta.name,
                experiment=experiment,
                creation_time=meta.created_at,
                end_time=meta.finalized_at,
            )
        )
    return rows


@router.get("/{tag_id}/runs/")
async def tag_runs(tag_id: str, engine: EngineDep) -> TagRunsOut:
    """The runs carrying the tag (by run id) with their experiment's name; pending runs are skipped."""
    run_ids = await engine.aread(partial(_run_ids, tag_id=tag_id))
    names: dict[str, str | None] = {}
    rows = await read_in_chunks(engine, run_ids, partial(_run_rows, names=names))
    return TagRunsOut(id=tag_id, runs=rows)
