"""``/api/v1/rest/projects``: project info, activity, params, pinned sequences, status."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Annotated, Any, Final

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from matyan_api.activity import DAY_FORMAT, activity_map
from matyan_api.deps import EngineDep, SettingsDep, TimezoneOffset
from matyan_api.project_params import SEQUENCE_TYPES, compute_project_params
from matyan_api.routes.runs_info import json_safe
from matyan_api.ttl_cache import TTLCache
from matyan_models.sequence_kinds import SequenceKind
from matyan_store import indexes
from matyan_store.engine import Engine, ReadTransaction
from matyan_store.entities import get_pinned_sequences, get_project, list_experiments, set_pinned_sequences

__all__ = ["router"]

router = APIRouter(prefix="/projects", tags=["projects"])

CREATED_PER_READ: Final = 5_000
_CACHE_ATTR: Final = "project_params_cache"
_INFLIGHT_ATTR: Final = "project_params_inflight"


class ProjectOut(BaseModel):
    """``GET /projects/``."""

    name: str
    path: str
    description: str
    telemetry_enabled: int
    warn_index: bool = False
    warn_runs: bool = False


class ProjectActivityOut(BaseModel):
    """``GET /projects/activity/``: counts from the indexes and runs created per (local) day."""

    num_experiments: int
    num_runs: int
    num_archived_runs: int
    num_active_runs: int
    activity_map: dict[str, int]


TraceContexts = dict[str, list[dict[str, Any]]]


class ProjectParamsOut(BaseModel):
    """``GET /projects/params/``: merged params and, per sequence type, each trace name's contexts."""

    params: dict[str, Any] | None = Field(default=None, description="absent with exclude_params=true")
    metric: TraceContexts
    images: TraceContexts
    texts: TraceContexts
    figures: TraceContexts
    distributions: TraceContexts
    audios: TraceContexts


class PinnedSequence(BaseModel):
    """One pinned sequence of the UI."""

    name: str
    context: dict[str, Any] = Field(default_factory=dict)


class PinnedSequencesIn(BaseModel):
    """``POST /projects/pinned-sequences/`` body: the new list, replacing the old one."""

    sequences: list[PinnedSequence]


class PinnedSequencesOut(BaseModel):
    """The pinned sequences as saved."""

    sequences: list[dict[str, Any]]


@router.get("/")
async def project_info(engine: EngineDep) -> ProjectOut:
    """Name, path, description and telemetry flag of the project."""
    info = await engine.aread(get_project)
    return ProjectOut(
        name=str(info.get("name") or ""),
        path=str(info.get("path") or ""),
        description=str(info.get("description") or ""),
        telemetry_enabled=int(info.get("telemetry_enabled") or 0),
    )


def _counts(tr: ReadTransaction) -> tuple[int, int, int]:
    return (
        len(list_experiments(tr)),
        indexes.count_entries(tr, "archived", True),
        indexes.count_entries(tr, "active", True),
    )


def _created_page(tr: ReadTransaction, after: tuple[float, str] | None) -> list[tuple[float, str]]:
    return list(indexes.iter_created_at(tr, after=after, limit=CREATED_PER_READ))


@router.get("/activity/")
async def project_activity(engine: EngineDep, x_timezone_offset: TimezoneOffset = 0) -> ProjectActivityOut:
    """Run counts and runs created per day; the day is the client's (``X-Timezone-Offset``).

    Runs pending deletion stay counted until the worker removes them from the indexes.
    """
    num_experiments, num_archived, num_active = await engine.aread(_counts)
    created: list[float] = []
    after: tuple[float, str] | None = None
    while True:
        page = await engine.aread(partial(_created_page, after=after))
        if not page:
            break
        created.extend(ts for ts, _ in page)
        after = page[-1]
    return ProjectActivityOut(
        num_experiments=num_experiments,
        num_runs=len(created),
        num_archived_runs=num_archived,
        num_active_runs=num_active,
        activity_map=activity_map(created, x_timezone_offset, DAY_FORMAT),
    )


def _params_cache(request: Request, ttl: float, maxsize: int) -> TTLCache[Any, bytes]:
    cache: TTLCache[Any, bytes] | None = getattr(request.app.state, _CACHE_ATTR, None)
    if cache is None:
        cache = TTLCache(ttl=ttl, maxsize=maxsize)
        setattr(request.app.state, _CACHE_ATTR, cache)
    return cache


def _params_inflight(request: Request) -> dict[Any, asyncio.Future[bytes]]:
    inflight: dict[Any, asyncio.Future[bytes]] | None = getattr(request.app.state, _INFLIGHT_ATTR, None)
    if inflight is None:
        inflight = {}
        setattr(request.app.state, _INFLIGHT_ATTR, inflight)
    return inflight


async def _rendered_params(
    engine: Engine, *, sequences: tuple[SequenceKind, ...], exclude_params: bool
) -> bytes:
    body = await compute_project_params(engine, sequences=sequences, exclude_params=exclude_params)
    return bytes(JSONResponse(json_safe(body)).body)


# The model documents the answer; the body is rendered once per computation and cached as bytes: with
# many distinct params and traces it is big, and validating or encoding it again for every request
# served from the cache would only slow the answers down.
@router.get("/params/", response_model=ProjectParamsOut)
async def project_params(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    sequence: Annotated[list[SequenceKind] | None, Query()] = None,
    exclude_params: bool = False,
) -> Response:
    """Merged params of every run and, per sequence type, each trace name's distinct contexts.

    ``sequence`` (repeatable) limits which buckets are filled; all six keys are always present.
    ``exclude_params=true`` leaves ``params`` out. Read from the store's params catalogue (kept by the
    writers) and cached for ``PROJECT_PARAMS_CACHE_TTL`` seconds.
    """
    wanted: tuple[SequenceKind, ...] = tuple(sorted(set(sequence))) if sequence else SEQUENCE_TYPES
    key = (wanted, exclude_params)
    cache = _params_cache(
        request, float(settings.project_params_cache_ttl), settings.project_params_cache_maxsize
    )
    body = cache.get(key)
    if body is None:
        # One computation per key at a time: the catalogue read grows with the number of distinct
        # params and traces, and every request arriving meanwhile (or when the entry expires) would
        # start its own.
        inflight = _params_inflight(request)
        task = inflight.get(key)
        if task is None:
            task = asyncio.ensure_future(
                _rendered_params(engine, sequences=wanted, exclude_params=exclude_params)
            )
            inflight[key] = task
            task.add_done_callback(partial(_params_done, inflight, cache, key))
        # Shielded: a client going away must not cancel the computation the others wait for.
        body = await asyncio.shield(task)
    return Response(body, media_type="application/json")


def _params_done(
    inflight: dict[Any, asyncio.Future[bytes]],
    cache: TTLCache[Any, bytes],
    key: Any,
    task: asyncio.Future[bytes],
) -> None:
    if inflight.get(key) is task:
        del inflight[key]
    if not task.cancelled() and task.exception() is None:
        cache.set(key, task.result())


@router.get("/pinned-sequences/")
async def pinned_sequences(engine: EngineDep) -> PinnedSequencesOut:
    """The pinned sequences (``[]`` until saved)."""
    saved = await engine.aread(get_pinned_sequences)
    return PinnedSequencesOut(sequences=[s for s in saved if isinstance(s, dict)])


@router.post("/pinned-sequences/")
async def save_pinned_sequences(body: PinnedSequencesIn, engine: EngineDep) -> PinnedSequencesOut:
    """Replace the pinned sequences wholesale."""
    sequences = [s.model_dump() for s in body.sequences]
    saved = await engine.atransact(lambda tr: set_pinned_sequences(tr, sequences))
    return PinnedSequencesOut(sequences=saved)


@router.get("/status/")
async def project_status() -> str:
    """Always ``"up-to-date"`` (there is no index to rebuild behind the client's back)."""
    return "up-to-date"
