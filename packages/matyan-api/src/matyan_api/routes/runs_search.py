"""``GET /runs/search/run/`` and ``GET /runs/active/``: binary streams of runs.

See docs/http-contract.md, Routes.

Run search walks the store's search records in creation order (:mod:`matyan_api.query.run_records_source`),
keeping the runs the query matches (planner candidates, evaluated when they are only a superset, or every
run evaluated when no index applies), sorts them by the ``sort`` spec, skips past ``offset``, and streams
one frame per run ``{hash: {params, traces: {metric: [...]}, props}}`` encoded from its record, a batch
of runs per transaction with the next batch prefetched. The walk reads bounded pages of read
transactions (never one snapshot for the whole scan). A page sorted by date alone stops the walk once it
is complete, newest first for the default sort: it first evaluates runs directly and asks the planner
only if that does not fill the page soon, so its cost does not grow with the number of matches; its
progress total is then the number of matches walked. A ``metric.…`` predicate means "the run has a
metric trace for which it holds" on every plan path.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Final

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from matyan_api.deps import EngineDep, SettingsDep, TimezoneOffset
from matyan_api.errors import ApiError
from matyan_api.query import PreparedQuery, plan_query
from matyan_api.query.run_records_source import (
    EntityCache,
    FrameOptions,
    Match,
    WalkResult,
    load_frames,
    walk_matches,
)
from matyan_api.query.timing import QueryTimer, record_planner_path
from matyan_api.routes.runs_props import run_props
from matyan_api.routes.search_common import (
    Batch,
    batched_with_heartbeats,
    metric_trace_summaries,
    prepared,
    stream_response,
)
from matyan_api.streaming import ProgressReporter, encode_tree_bytes, heartbeats_until_done
from matyan_store import indexes
from matyan_store.engine import Engine, ReadTransaction
from matyan_store.runs import RunMeta, get_run
from matyan_store.search_records import SearchRecord

__all__ = ["SortKey", "parse_sort", "router", "sort_rows"]

router = APIRouter(prefix="/runs", tags=["runs"])

SORT_FIELDS: Final = frozenset({"run", "experiment", "hash", "date", "duration", "description", "creator"})
DEFAULT_SORT: Final = (("date", "desc"),)
# Frames encoded per read transaction: a record-built frame is cheap, so more of them share a hop.
FRAME_BATCH: Final = 64

type SortKey = tuple[str, str]


def parse_sort(text: str) -> tuple[SortKey, ...]:
    """The ``sort`` parameter as ``((field, order), ...)``; 400 for bad JSON, fields or orders.

    Empty text, an empty list or a non-list means the default (newest first).
    """
    if not text:
        return DEFAULT_SORT
    try:
        spec = json.loads(text)
    except ValueError as exc:
        raise ApiError(400, f"Invalid sort JSON: {exc}") from None
    if not isinstance(spec, list) or not spec:
        return DEFAULT_SORT
    keys: list[SortKey] = []
    for item in spec:
        if not isinstance(item, dict):
            # The reference answers 500 here; a client mistake is a 400.
            raise ApiError(400, f"Invalid sort item: {item!r}")
        field = item.get("field")
        order = item.get("order", "asc")
        if field not in SORT_FIELDS:
            raise ApiError(400, f"Unknown sort field: {field!r}")
        if order not in ("asc", "desc"):
            raise ApiError(400, f"Invalid sort order: {order!r}")
        keys.append((field, order))
    return tuple(keys)


@dataclass(frozen=True, slots=True)
class _Row:
    """A matching run with what sorting needs."""

    run_id: str
    meta: SearchRecord
    experiment: str

    def key(self, field: str, now: float) -> Any:
        meta = self.meta
        if field == "run":
            return meta.name or ""
        if field == "experiment":
            return self.experiment
        if field == "hash":
            return self.run_id
        if field == "date":
            return float(meta.created_at or 0.0)
        if field == "duration":
            end = meta.finalized_at if meta.finalized_at is not None else now
            return float(end) - float(meta.created_at or 0.0)
        if field == "description":
            return meta.description or ""
        return ""  # creator: not recorded


def sort_rows[R: _Row](rows: list[R], keys: tuple[SortKey, ...], now: float | None = None) -> list[R]:
    """A stable multi-key sort: the keys applied last to first."""
    at = time.time() if now is None else now
    out = list(rows)
    for field, order in reversed(keys):
        out.sort(key=lambda row: row.key(field, at), reverse=order == "desc")
    return out


class _PageEnd:
    """Whether the matches found so far complete the page: ``limit`` runs after ``offset`` (a run id)."""

    def __init__(self, offset: str, limit: int) -> None:
        self.offset = offset
        self.limit = limit
        self.scanned = 0
        self.start: int | None = None if offset else 0

    def __call__(self, matches: list[Match]) -> bool:
        if self.start is None:
            for i in range(self.scanned, len(matches)):
                if matches[i].run_id == self.offset:
                    self.start = i + 1
                    break
            self.scanned = len(matches)
        return self.start is not None and len(matches) - self.start >= self.limit


# Runs evaluated directly (no index read) before a page asks the planner: enough for a page of a query
# that matches one run in ten, and cheaper than reading an index that lists most of the store.
DIRECT_CHECKS: Final = 500


async def _matches(
    engine: Engine,
    query: PreparedQuery,
    keys: tuple[SortKey, ...],
    offset: str,
    limit: int,
    timer: QueryTimer,
) -> list[Match]:
    """The runs the query matches, in the order of ``keys``.

    Sorted by date alone with a ``limit``, the walk stops once the page is complete (newest first for
    ``desc``); otherwise every match is found, oldest first, then sorted.
    """
    by_date = len(keys) == 1 and keys[0][0] == "date"
    newest_first = by_date and keys[0][1] == "desc"
    page = _PageEnd(offset, limit) if by_date and limit > 0 else None
    if page is not None:
        timer.path = "page_walk"
        direct = await walk_matches(
            engine,
            query,
            None,
            True,
            newest_first=newest_first,
            decode=False,
            stop=page,
            max_checked=DIRECT_CHECKS,
            timer=timer,
        )
        if direct.complete or page(direct.matches):
            record_planner_path("lazy", "run_search", "page_walk")
            _summary(timer, direct)
            return direct.matches
        page = _PageEnd(offset, limit)
    t0 = time.perf_counter()
    # Unordered candidates: the walk below visits runs in creation order anyway.
    plan = await engine.aread(lambda tr: plan_query(tr, query, seq_name="metric", ordered=False))
    if plan.candidates is None:
        timer.path, reason = "lazy", "no_candidates"
        record_planner_path("lazy", "run_search", reason)
    else:
        reason = "exact" if plan.exact else "superset"
        timer.path = reason
        record_planner_path("fast", "run_search", reason)
    timer.log("plan_query", time.perf_counter() - t0)
    evaluate = plan.candidates is None or not plan.exact
    candidates = None if plan.candidates is None else set(plan.candidates)
    found = await walk_matches(
        engine,
        query,
        candidates,
        evaluate,
        newest_first=newest_first and page is not None,
        decode=not by_date,
        stop=page,
        timer=timer,
    )
    if evaluate:
        _summary(timer, found)
    if page is not None:
        return found.matches
    if by_date:
        # A stable sort: runs created at the same time stay in run id order, as on the page walk.
        return sorted(found.matches, key=lambda m: m.created_at, reverse=newest_first)
    cache = EntityCache()

    def experiments(tr: ReadTransaction) -> list[_Row]:
        return [
            _Row(m.run_id, m.record, cache.experiment_name(tr, m.record.experiment_id) or "")
            for m in found.matches
            if m.record is not None
        ]

    rows = sort_rows(await engine.aread(experiments), keys)
    by_id = {m.run_id: m for m in found.matches}
    return [by_id[row.run_id] for row in rows]


def _summary(timer: QueryTimer, found: WalkResult) -> None:
    timer.summary(
        f"runs_checked={found.checked} runs_matched={len(found.matches)}",
        ("fetch_meta", "build_run_view", "check"),
    )


def _batch_loader(
    engine: Engine, build: Callable[[ReadTransaction, RunMeta], dict[str, Any]]
) -> Callable[[list[tuple[int, str]]], Any]:
    """Load ``(position, run_id)`` items in one transaction: encoded frames, ``-1`` for vanished runs."""

    async def load(items: list[tuple[int, str]]) -> Batch:
        def read(tr: ReadTransaction) -> Batch:
            out: Batch = []
            for position, run_id in items:
                meta = get_run(tr, run_id)
                if meta is None:  # deleted since the scan
                    out.append((b"", -1))
                    continue
                out.append((encode_tree_bytes((run_id,), build(tr, meta)), position))
            return out

        return await engine.aread(read)

    return load


@router.get("/search/run/", response_class=StreamingResponse)
async def search_runs(
    engine: EngineDep,
    settings: SettingsDep,
    q: str = "",
    limit: int = 0,
    offset: str = "",
    sort: str = "",
    skip_system: bool = True,
    report_progress: bool = True,
    exclude_params: bool = False,
    exclude_traces: bool = False,
    x_timezone_offset: TimezoneOffset = 0,
) -> StreamingResponse:
    """Matching runs, sorted, after ``offset`` (a run hash, exclusive), at most ``limit`` (0: all)."""
    query = prepared(q, x_timezone_offset)
    keys = parse_sort(sort)
    options = FrameOptions(skip_system, exclude_params, exclude_traces)
    cache = EntityCache()

    async def load(items: list[tuple[int, Match]]) -> Batch:
        return await engine.aread(lambda tr: list(load_frames(tr, items, cache, options)))

    async def body() -> AsyncIterator[bytes]:
        reporter = ProgressReporter(report_progress)
        timer = QueryTimer(settings.query_timing_enabled, "run_search")
        task = asyncio.ensure_future(_matches(engine, query, keys, offset, limit, timer))
        try:
            async for beat in heartbeats_until_done(task, reporter):
                yield beat
        finally:
            if not task.done():
                task.cancel()
        matches = task.result()
        total = len(matches)
        if total:
            yield reporter.report(0, total)
        positions = list(enumerate(matches, start=1))
        if offset:
            at = next((i for i, (_, m) in enumerate(positions) if m.run_id == offset), None)
            positions = [] if at is None else positions[at + 1 :]
        if limit > 0:
            positions = positions[:limit]

        def progress(position: int) -> bytes:
            return b"" if position < 0 else reporter.report(position, total, skip_repeat=True)

        async for chunk in batched_with_heartbeats(
            positions, load, reporter, after_frame=progress, batch_size=FRAME_BATCH
        ):
            yield chunk
        yield reporter.finish()

    return stream_response(body())


@router.get("/active/", response_class=StreamingResponse)
async def active_runs(engine: EngineDep, report_progress: bool = True) -> StreamingResponse:
    """Every active run (archived ones too), by hash: ``{hash: {traces: {metric: [...]}, props}}``.

    Progress ``(i, total)`` follows each run (i counts all active runs, 1-based); no terminal frame.
    Only metric-dtype traces are listed (docs/http-contract.md, Quirk decisions).
    """

    def build(tr: ReadTransaction, meta: RunMeta) -> dict[str, Any]:
        return {
            "traces": {"metric": metric_trace_summaries(tr, meta.run_id, full=False)},
            "props": run_props(tr, meta),
        }

    async def body() -> AsyncIterator[bytes]:
        reporter = ProgressReporter(report_progress)
        ids = await engine.aread(lambda tr: indexes.lookup(tr, "active", True))
        total = len(ids)

        def progress(position: int) -> bytes:
            return b"" if position < 0 else reporter.report(position, total)

        async for chunk in batched_with_heartbeats(
            list(enumerate(ids, start=1)), _batch_loader(engine, build), reporter, after_frame=progress
        ):
            yield chunk

    return stream_response(body())
