"""``GET /runs/search/run/`` and ``GET /runs/active/``: binary streams of runs.

See docs/http-contract.md, Routes.

Run search collects every match first (planner candidates, evaluated when they are only a superset,
or a creation-order scan when no index applies), sorts them by the ``sort`` spec, skips past
``offset``, and streams one frame per run ``{hash: {params, traces: {metric: [...]}, props}}``, read
ten runs per transaction with the next batch prefetched. Matching reads the runs in bounded pages of
read transactions (never one snapshot for the whole scan). A ``metric.…`` predicate means "the run has a
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
from matyan_api.query import (
    PreparedQuery,
    load_run_view,
    load_trace_infos,
    plan_query,
    sequence_views,
)
from matyan_api.query.paging import scan_runs
from matyan_api.query.timing import QueryTimer, record_planner_path
from matyan_api.routes.runs_props import run_props
from matyan_api.routes.search_common import (
    Batch,
    batched_with_heartbeats,
    metric_trace_summaries,
    prepared,
    run_params,
    stream_response,
)
from matyan_api.streaming import ProgressReporter, encode_tree_bytes, heartbeats_until_done
from matyan_store import entities, indexes
from matyan_store.engine import Engine, ReadTransaction
from matyan_store.runs import RunMeta, get_run

__all__ = ["SortKey", "parse_sort", "router", "sort_rows"]

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


async def _collect(engine: Engine, query: PreparedQuery, timer: QueryTimer) -> list[_Row]:
    """Every run the query matches (missing and pending runs left out), in creation order.

    The plan is one transaction; the runs are then visited in bounded pages (:func:`scan_runs`).
    """
    t0 = time.perf_counter()
    # Unordered candidates: the rows are put in creation order below from the metas read anyway.
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

    rows = await scan_runs(engine, plan.candidates, visit)
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


def _run_frame(
    tr: ReadTransaction, meta: RunMeta, *, skip_system: bool, exclude_params: bool, exclude_traces: bool
) -> dict[str, Any]:
    return {
        "params": {} if exclude_params else run_params(tr, meta.run_id, skip_system=skip_system),
        "traces": {"metric": [] if exclude_traces else metric_trace_summaries(tr, meta.run_id, full=True)},
        "props": run_props(tr, meta),
    }


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

    def build(tr: ReadTransaction, meta: RunMeta) -> dict[str, Any]:
        return _run_frame(
            tr, meta, skip_system=skip_system, exclude_params=exclude_params, exclude_traces=exclude_traces
        )

    async def body() -> AsyncIterator[bytes]:
        reporter = ProgressReporter(report_progress)
        timer = QueryTimer(settings.query_timing_enabled, "run_search")
        task = asyncio.ensure_future(_collect(engine, query, timer))
        try:
            async for beat in heartbeats_until_done(task, reporter):
                yield beat
        finally:
            if not task.done():
                task.cancel()
        rows = sort_rows(task.result(), keys)
        total = len(rows)
        if total:
            yield reporter.report(0, total)
        positions = list(enumerate((row.run_id for row in rows), start=1))
        if offset:
            at = next((i for i, (_, run_id) in enumerate(positions) if run_id == offset), None)
            positions = [] if at is None else positions[at + 1 :]
        if limit > 0:
            positions = positions[:limit]

        def progress(position: int) -> bytes:
            return b"" if position < 0 else reporter.report(position, total, skip_repeat=True)

        async for chunk in batched_with_heartbeats(
            positions, _batch_loader(engine, build), reporter, after_frame=progress
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
