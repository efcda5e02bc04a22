"""``GET /runs/search/run/`` and ``GET /runs/active/``: binary streams of runs (docs/http-contract.md).

Run search walks the store's search records in creation order (:mod:`matyan_api.query.run_records_source`),
keeping the runs the query matches (planner candidates, evaluated when they are only a superset, or every
run evaluated when no index applies), sorts them by the ``sort`` spec, skips past ``offset``, and streams
one frame per run ``{hash: {params, traces: {metric: [...]}, props}}`` encoded from its record,
:data:`FRAME_BATCH` runs per transaction. The walk reads bounded pages of read transactions (never one
snapshot for the whole scan). A page sorted by date alone stops the walk once it is complete, newest
first for the default sort: it first evaluates runs directly and asks the planner only if that does not
fill the page soon, so its cost does not grow with the number of matches; its progress total is then the
number of matches walked. A ``metric.…`` predicate means "the run has a metric trace for which it holds"
on every plan path. Both searches run in the search pool (:mod:`matyan_api.search_pool`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Final

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from matyan_api.deps import SearchPoolDep, TimezoneOffset
from matyan_api.errors import ApiError
from matyan_api.query import PlanResult, PreparedQuery
from matyan_api.query.frame_parts import metric_trace_summaries
from matyan_api.query.run_records_source import (
    EntityCache,
    FrameOptions,
    Match,
    WalkResult,
    load_frames,
    walk_matches,
)
from matyan_api.query.timing import QueryTimer
from matyan_api.routes.runs_props import run_props
from matyan_api.search_pool.pipeline import Batch, Item, JobContext, SearchJob, StreamPlan
from matyan_api.search_pool.relay import search_response
from matyan_api.streaming import encode_tree_bytes
from matyan_store import indexes
from matyan_store.engine import ReadTransaction
from matyan_store.runs import RunMeta, get_run
from matyan_store.search_records import SearchRecord

__all__ = ["ActiveRunsJob", "RunSearchJob", "SortKey", "parse_sort", "router", "sort_rows"]

router = APIRouter(prefix="/runs", tags=["runs"])

SORT_FIELDS: Final = frozenset({"run", "experiment", "hash", "date", "duration", "description", "creator"})
DEFAULT_SORT: Final = (("date", "desc"),)
# Frames encoded per read transaction: a record-built frame is cheap, so more of them share a hop.
FRAME_BATCH: Final = 64
# Runs evaluated directly (no index read) before a date page asks the planner: enough for a page of a
# query that matches one run in ten, and cheaper than reading an index that lists most of the store.
DIRECT_CHECKS: Final = 500

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
    except RecursionError:  # json.loads recurses per nesting level ("[" * 5000)
        raise ApiError(400, "Invalid sort JSON: nested too deeply") from None
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


def _summary(timer: QueryTimer, found: WalkResult) -> None:
    timer.summary(
        f"runs_checked={found.checked} runs_matched={len(found.matches)}",
        ("fetch_meta", "build_run_view", "check"),
    )


def _frames(
    tr: ReadTransaction, items: list[Item], build: Callable[[ReadTransaction, RunMeta], dict[str, Any]]
) -> Batch:
    """Encoded frames of ``(position, run_id)`` items; a run deleted since the plan: no frame, ``-1``."""
    out: Batch = []
    for position, run_id in items:
        meta = get_run(tr, run_id)
        if meta is None:
            out.append((b"", -1))
            continue
        out.append((encode_tree_bytes((run_id,), build(tr, meta)), position))
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class RunSearchJob(SearchJob):
    """Matching runs, sorted, after ``offset`` (a run hash, exclusive), at most ``limit`` (0: all)."""

    endpoint: ClassVar[str] = "run_search"

    limit: int = 0
    offset: str = ""
    sort: tuple[SortKey, ...] = DEFAULT_SORT
    skip_system: bool = True
    exclude_params: bool = False
    exclude_traces: bool = False

    def plan_path(self, query: PreparedQuery, plan: PlanResult) -> tuple[str, str, str]:
        if plan.candidates is None:
            return "lazy", "no_candidates", "lazy"
        reason = "exact" if plan.exact else "superset"
        return "fast", reason, reason

    def plan(self, ctx: JobContext, query: PreparedQuery, timer: QueryTimer) -> StreamPlan:
        matches = self._matches(ctx, query, timer)
        positions = list(enumerate((match.run_id for match in matches), start=1))
        if self.offset:
            at = next((i for i, (_, run_id) in enumerate(positions) if run_id == self.offset), None)
            positions = [] if at is None else positions[at + 1 :]
        if self.limit > 0:
            positions = positions[: self.limit]
        by_id = {match.run_id: match for match in matches}
        options = FrameOptions(self.skip_system, self.exclude_params, self.exclude_traces)
        cache = EntityCache()

        def load(tr: ReadTransaction, items: list[Item]) -> Batch:
            return list(
                load_frames(tr, [(position, by_id[run_id]) for position, run_id in items], cache, options)
            )

        return StreamPlan(positions, len(matches), load, batch_size=FRAME_BATCH)

    def _matches(self, ctx: JobContext, query: PreparedQuery, timer: QueryTimer) -> list[Match]:
        """The runs the query matches, in the order of ``sort``.

        Sorted by date alone with a ``limit``, the walk stops once the page is complete (newest first
        for ``desc``); otherwise every match is found, oldest first, then sorted.
        """
        keys = self.sort
        by_date = len(keys) == 1 and keys[0][0] == "date"
        newest_first = by_date and keys[0][1] == "desc"
        page = _PageEnd(self.offset, self.limit) if by_date and self.limit > 0 else None
        if page is not None:
            timer.path = "page_walk"
            direct = walk_matches(
                ctx.engine,
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
                ctx.record_planner_path("lazy", self.endpoint, "page_walk")
                _summary(timer, direct)
                return direct.matches
            page = _PageEnd(self.offset, self.limit)
        # Unordered candidates: the walk below visits runs in creation order anyway.
        plan = self.plan_runs(ctx, query, timer, ordered=False)
        evaluate = plan.candidates is None or not plan.exact
        candidates = None if plan.candidates is None else set(plan.candidates)
        found = walk_matches(
            ctx.engine,
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

        rows = sort_rows(ctx.engine.read(experiments), keys)
        by_id = {m.run_id: m for m in found.matches}
        return [by_id[row.run_id] for row in rows]


@dataclass(frozen=True, slots=True, kw_only=True)
class ActiveRunsJob(SearchJob):
    """Every active run (archived ones too): ``{hash: {traces: {metric: [...]}, props}}``.

    Progress ``(i, total)`` follows each run (i counts all active runs, 1-based); no announce, no
    terminal frame. Only metric-dtype traces are listed.
    """

    endpoint: ClassVar[str] = "active_runs"

    def plan(self, ctx: JobContext, query: PreparedQuery, timer: QueryTimer) -> StreamPlan:
        ids = ctx.engine.read(lambda tr: indexes.lookup(tr, "active", True))
        return StreamPlan(
            list(enumerate(ids, start=1)),
            len(ids),
            lambda tr, items: _frames(tr, items, _active_frame),
            announce=False,
            skip_repeat=False,
            finish=False,
        )


def _active_frame(tr: ReadTransaction, meta: RunMeta) -> dict[str, Any]:
    return {
        "traces": {"metric": metric_trace_summaries(tr, meta.run_id, full=False)},
        "props": run_props(tr, meta),
    }


@router.get("/search/run/", response_class=StreamingResponse)
async def search_runs(
    pool: SearchPoolDep,
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
    job = RunSearchJob(
        q=q,
        tz_offset=x_timezone_offset,
        limit=limit,
        offset=offset,
        sort=parse_sort(sort),
        skip_system=skip_system,
        exclude_params=exclude_params,
        exclude_traces=exclude_traces,
    )
    return await search_response(pool, job, report_progress=report_progress)


@router.get("/active/", response_class=StreamingResponse)
async def active_runs(pool: SearchPoolDep, report_progress: bool = True) -> StreamingResponse:
    """Every active run (archived ones too), by hash (see :class:`ActiveRunsJob`)."""
    return await search_response(pool, ActiveRunsJob(), report_progress=report_progress)
