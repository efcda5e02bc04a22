"""``GET /runs/search/run/`` and ``GET /runs/active/``: binary streams of runs (docs/http-contract.md).

Run search collects every match first (planner candidates, evaluated when they are only a superset,
or a creation-order scan when no index applies), sorts them by the ``sort`` spec, skips past
``offset``, and streams one frame per run ``{hash: {params, traces: {metric: [...]}, props}}``, read
ten runs per transaction. Matching reads the runs in bounded pages of read transactions (never one
snapshot for the whole scan). A ``metric.…`` predicate means "the run has a metric trace for which it
holds" on every plan path. Both run in the search pool (:mod:`matyan_api.search_pool`).
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
from matyan_api.query import PlanResult, PreparedQuery, load_run_view, load_trace_infos, sequence_views
from matyan_api.query.paging import scan_runs
from matyan_api.query.timing import QueryTimer
from matyan_api.routes.runs_props import run_props
from matyan_api.routes.search_common import metric_trace_summaries, run_params
from matyan_api.search_pool.pipeline import Batch, Item, JobContext, SearchJob, StreamPlan
from matyan_api.search_pool.relay import search_response
from matyan_api.streaming import encode_tree_bytes
from matyan_store import entities, indexes
from matyan_store.engine import ReadTransaction
from matyan_store.runs import RunMeta, get_run

__all__ = ["ActiveRunsJob", "RunSearchJob", "SortKey", "parse_sort", "router", "sort_rows"]

router = APIRouter(prefix="/runs", tags=["runs"])

SORT_FIELDS: Final = frozenset({"run", "experiment", "hash", "date", "duration", "description", "creator"})
DEFAULT_SORT: Final = (("date", "desc"),)

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
    meta: RunMeta
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


def _collect(ctx: JobContext, query: PreparedQuery, plan: PlanResult, timer: QueryTimer) -> list[_Row]:
    """Every run the query matches (missing and pending runs left out), in creation order.

    The runs are visited in bounded pages (:func:`scan_runs`).
    """
    evaluate = plan.candidates is None or not plan.exact
    with_seqs = "metric" in query.sequence_names
    experiments: dict[str, str] = {}
    names: dict[tuple[str, str], str | None] = {}
    counts = {"checked": 0, "matched": 0}

    def visit(tr: ReadTransaction, index: int, run_id: str) -> _Row | None:
        if not evaluate:
            meta = get_run(tr, run_id)
            if meta is None:
                return None
            return _Row(run_id, meta, _experiment_name(tr, meta.experiment_id, experiments))
        with timer.step("fetch_meta", run_index=index, run_hash=run_id):
            meta = get_run(tr, run_id)
        if meta is None:
            return None
        with timer.step("build_run_view", run_index=index, run_hash=run_id):
            view = load_run_view(tr, run_id, meta=meta, names=names)
            seqs = []
            if view is not None and with_seqs:
                seqs = sequence_views(view, load_trace_infos(tr, run_id))
        if view is None:
            return None
        counts["checked"] += 1
        with timer.step("check", run_index=index, run_hash=run_id):
            matched = query.matches_run(view, seqs)
        if not matched:
            return None
        counts["matched"] += 1
        return _Row(run_id, meta, _experiment_name(tr, meta.experiment_id, experiments))

    rows = scan_runs(ctx.engine, plan.candidates, visit)
    # The planner's creation order: the created_at index holds float(meta.created_at) of every run.
    rows.sort(key=lambda row: (float(row.meta.created_at), row.run_id))
    if evaluate:
        timer.summary(
            f"runs_checked={counts['checked']} runs_matched={counts['matched']}",
            ("fetch_meta", "build_run_view", "check"),
        )
    return rows


def _experiment_name(tr: ReadTransaction, experiment_id: str | None, cache: dict[str, str]) -> str:
    if experiment_id is None:
        return ""
    if experiment_id not in cache:
        exp = entities.get_experiment(tr, experiment_id)
        cache[experiment_id] = exp.name if exp is not None else ""
    return cache[experiment_id]


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
        # Unordered candidates: the rows are put in creation order from the metas read anyway.
        plan = self.plan_runs(ctx, query, timer, ordered=False)
        rows = sort_rows(_collect(ctx, query, plan, timer), self.sort)
        positions = list(enumerate((row.run_id for row in rows), start=1))
        if self.offset:
            at = next((i for i, (_, run_id) in enumerate(positions) if run_id == self.offset), None)
            positions = [] if at is None else positions[at + 1 :]
        if self.limit > 0:
            positions = positions[: self.limit]
        return StreamPlan(positions, len(rows), lambda tr, items: _frames(tr, items, self._frame))

    def _frame(self, tr: ReadTransaction, meta: RunMeta) -> dict[str, Any]:
        params = {} if self.exclude_params else run_params(tr, meta.run_id, skip_system=self.skip_system)
        return {
            "params": params,
            "traces": {
                "metric": [] if self.exclude_traces else metric_trace_summaries(tr, meta.run_id, full=True)
            },
            "props": run_props(tr, meta),
        }


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
