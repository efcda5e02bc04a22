"""``GET /runs/search/metric/`` and ``POST /runs/search/metric/align/`` (docs/http-contract.md, Routes).

Metric search streams one frame per run with at least one matching metric trace, in ascending
creation order on every plan path (docs/http-contract.md, Quirk decisions):
``{hash: {params, traces: [TraceView...], props}}``. Which traces match:

- the planner's ``trace_names`` (``metric.name == "x"``) always restrict the candidates;
- when the plan cannot say on its own (a superset, a scan, or an unindexed ``metric.…`` predicate),
  each trace is evaluated with ``(run, metric)`` and only matching ones are streamed;
- a query without sequence predicates is evaluated once per run (unless the plan is exact).

Points come from the store's chart read (:func:`read_downsampled`): each bucket keeps its first, min,
max and last point, so a spike is never hidden; series no longer than ``p`` come back whole. Unlike
the reference, ``epochs`` and ``timestamps`` are the stored ones (NaN where not recorded). The search
runs in the search pool (:mod:`matyan_api.search_pool`); align is a read per run, in the API process.
"""

from __future__ import annotations

import functools
import math
from array import array
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from matyan_api.deps import EngineDep, SearchPoolDep, TimezoneOffset
from matyan_api.query import (
    PlanResult,
    PreparedQuery,
    RunView,
    SequenceView,
    TraceInfo,
    has_unindexed_sequence_predicate,
    load_run_view,
    load_trace_infos,
    needs_trace_evaluation,
    paging,
)
from matyan_api.query.frame_parts import run_params
from matyan_api.query.timing import QueryTimer
from matyan_api.routes.runs_props import run_props
from matyan_api.routes.search_common import stream_response
from matyan_api.search_pool.pipeline import Batch, JobContext, SearchJob, StreamPlan
from matyan_api.search_pool.relay import search_response
from matyan_api.streaming import encode_float64_array, encode_tree_bytes
from matyan_models import context_to_id
from matyan_models.sequence_kinds import is_metric_dtype
from matyan_store.engine import ReadTransaction
from matyan_store.runs import RunMeta, get_context, get_run
from matyan_store.sequences import Block, SeriesKey, get_summary, read_downsampled, read_range

__all__ = ["AlignRequest", "MetricSearchJob", "metric_buckets", "router", "sample_series"]

router = APIRouter(prefix="/runs", tags=["runs"])

# read_downsampled keeps up to four points per bucket (first, min, max, last).
POINTS_PER_BUCKET = 4


def metric_buckets(p: int) -> int:
    """Buckets for ``p`` points per trace (at least one)."""
    return max(1, p // POINTS_PER_BUCKET)


def _floats(values: Sequence[Any]) -> Sequence[float]:
    """Numbers as float64; anything else (None, an object) is NaN, which the UI's charts skip.

    Int64/float64 columns and ranges come back as they are (the array encoder widens them in one pass).
    """
    if isinstance(values, range) or (isinstance(values, array) and values.typecode in "fdq"):
        return values
    if isinstance(values, list) and values.count(None) == len(values):
        return array("d", [math.nan]) * len(values)  # an unrecorded column
    try:
        # One C-level pass when every item converts (the usual all-number column).
        return array("d", values.tolist() if isinstance(values, array) else values)
    except (TypeError, OverflowError):
        pass
    out: list[float] = []
    for v in values:
        if isinstance(v, int | float):
            try:
                out.append(float(v))
            except OverflowError:
                out.append(math.inf if v > 0 else -math.inf)
        else:
            out.append(math.nan)
    return out


def sample_series(tr: ReadTransaction, key: SeriesKey, count: int, p: int) -> Block:
    """The points of a trace for a ``p``-point chart: all of them when ``count <= p``."""
    if p <= 0 or count <= p:
        return read_range(tr, key)
    return read_downsampled(tr, key, metric_buckets(p), with_epochs_timestamps=True)


def _trace_view(
    name: str,
    context: dict[str, Any],
    block: Block,
    x_axis: tuple[dict[str, Any], dict[str, Any]] | None,
) -> dict[str, Any]:
    steps = list(block.steps)
    view: dict[str, Any] = {
        "name": name,
        "context": context,
        "slice": [0, steps[-1] if steps else 0, 1],
        "values": encode_float64_array(_floats(block.values)),
        "iters": encode_float64_array(steps),
        "epochs": encode_float64_array(_floats(block.epochs)),
        "timestamps": encode_float64_array(_floats(block.timestamps)),
    }
    if x_axis is not None:
        view["x_axis_values"], view["x_axis_iters"] = x_axis
    return view


class _RunSampler:
    """Builds the metric-search frames of a batch of runs inside one read transaction."""

    def __init__(
        self,
        query: PreparedQuery,
        plan: PlanResult,
        timer: QueryTimer,
        *,
        p: int,
        x_axis: str | None,
        skip_system: bool,
    ) -> None:
        self.query = query
        self.plan = plan
        self.timer = timer
        self.p = p
        self.x_axis = x_axis
        self.skip_system = skip_system
        self.per_trace = needs_trace_evaluation(query, plan)
        self.per_run = not self.per_trace and (plan.candidates is None or not plan.exact)
        self.runs_checked = 0
        self.runs_matched = 0
        self.names: dict[tuple[str, str], str | None] = {}

    def batch(self, tr: ReadTransaction, items: list[tuple[int, str]]) -> Batch:
        """Encoded frames of ``(position, run_id)`` items (``b""`` for runs without matching traces).

        Stops early, after at least one item, once the transaction is :data:`paging.PAGE_SECONDS` old:
        the frames of the items done so far come back, in order.
        """
        with self.timer.step("fetch_bundles", run_index=items[0][0] - 1, extra=f"batch_size={len(items)}"):
            bundles = [(position, run_id, self._bundle(tr, run_id)) for position, run_id in items]
        out: Batch = []
        for position, run_id, bundle in bundles:
            frame = None if bundle is None else self.frame(tr, position - 1, run_id, *bundle)
            out.append((b"" if frame is None else encode_tree_bytes((run_id,), frame), position))
            if tr.age_s >= paging.PAGE_SECONDS:
                break  # long series: the caller goes on with the rest in a fresh transaction
        return out

    def _bundle(self, tr: ReadTransaction, run_id: str) -> tuple[RunMeta, RunView, list[TraceInfo]] | None:
        meta = get_run(tr, run_id)
        if meta is None:
            return None
        infos = load_trace_infos(tr, run_id)
        view = load_run_view(tr, run_id, with_traces=True, meta=meta, traces=infos, names=self.names)
        return None if view is None else (meta, view, infos)

    def frame(
        self,
        tr: ReadTransaction,
        index: int,
        run_id: str,
        meta: RunMeta,
        view: RunView,
        infos: list[TraceInfo],
    ) -> dict[str, Any] | None:
        """One run's frame, or ``None`` when no trace matches."""
        self.runs_checked += 1
        with self.timer.step("build_run_view_and_check", run_index=index, run_hash=run_id):
            selected: list[TraceInfo] = []
            if not self.per_run or self.query.evaluate(view):
                for info in infos:
                    if not is_metric_dtype(info.dtype):
                        continue
                    if self.plan.trace_names is not None and info.name not in self.plan.trace_names:
                        continue
                    if self.per_trace and not self.query.evaluate(view, SequenceView(info, view)):
                        continue
                    selected.append(info)
        if not selected:
            return None
        self.runs_matched += 1
        with self.timer.step(
            "collect_traces", run_index=index, run_hash=run_id, extra=f"traces={len(selected)}"
        ):
            traces = []
            x_cache: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}
            for info in selected:
                context = dict(info.context)
                key = SeriesKey(run_id, info.context_id, info.name)
                block = sample_series(tr, key, info.count, self.p)
                traces.append(_trace_view(info.name, context, block, self._x_axis(tr, key, x_cache)))
        return {
            "params": run_params(tr, run_id, skip_system=self.skip_system),
            "traces": traces,
            "props": run_props(tr, meta),
        }

    def summary(self) -> None:
        """The request's one ``summary`` timing line."""
        self.timer.summary(
            f"runs_checked={self.runs_checked} runs_matched={self.runs_matched}",
            ("fetch_bundles", "build_run_view_and_check", "collect_traces"),
        )

    def _x_axis(
        self, tr: ReadTransaction, key: SeriesKey, cache: dict[int, tuple[dict[str, Any], dict[str, Any]]]
    ) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The x-axis metric of the trace's context, sampled once per context (empty if absent)."""
        if self.x_axis is None:
            return None
        if key.context_id not in cache:
            x_key = SeriesKey(key.run_id, key.context_id, self.x_axis)
            summary = get_summary(tr, x_key)
            if summary is None or not is_metric_dtype(summary.dtype):
                cache[key.context_id] = (encode_float64_array([]), encode_float64_array([]))
            else:
                block = sample_series(tr, x_key, summary.count, self.p)
                cache[key.context_id] = (
                    encode_float64_array(_floats(block.values)),
                    encode_float64_array(block.steps),
                )
        return cache[key.context_id]


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricSearchJob(SearchJob):
    """Runs with matching metric traces, each trace sampled to about ``p`` points."""

    endpoint: ClassVar[str] = "metric_search"

    p: int = 50
    x_axis: str | None = None
    skip_system: bool = True

    def plan_path(self, query: PreparedQuery, plan: PlanResult) -> tuple[str, str, str]:
        if has_unindexed_sequence_predicate(query):
            return "lazy", "unindexed_sequence", "lazy"
        return SearchJob.plan_path(self, query, plan)

    def plan(self, ctx: JobContext, query: PreparedQuery, timer: QueryTimer) -> StreamPlan:
        plan = self.plan_runs(ctx, query, timer)
        ids = self.run_ids(ctx, plan)
        sampler = _RunSampler(
            query, plan, timer, p=self.p, x_axis=self.x_axis or None, skip_system=self.skip_system
        )
        return StreamPlan(list(enumerate(ids, start=1)), len(ids), sampler.batch, summary=sampler.summary)


@router.get("/search/metric/", response_class=StreamingResponse)
async def search_metrics(
    pool: SearchPoolDep,
    q: str = "",
    p: int = 50,
    x_axis: str | None = None,
    skip_system: bool = True,
    report_progress: bool = True,
    trace_chunk_size: int = 10,
    x_timezone_offset: TimezoneOffset = 0,
) -> StreamingResponse:
    """Runs with matching metric traces, each trace sampled to about ``p`` points.

    ``trace_chunk_size`` is accepted for compatibility (clamped to 1..500 by the reference); a run's
    traces are read in one transaction here, so it changes nothing.
    """
    del trace_chunk_size
    job = MetricSearchJob(q=q, tz_offset=x_timezone_offset, p=p, x_axis=x_axis, skip_system=skip_system)
    return await search_response(pool, job, report_progress=report_progress)


class AlignTrace(BaseModel):
    """A trace shown against another metric: its name, context and chart slice ``[start, stop, step]``."""

    name: str
    context: dict[str, Any]
    slice: tuple[int, int, int]


class AlignRun(BaseModel):
    """One run of an align request."""

    run_id: str
    traces: list[AlignTrace]


class AlignRequest(BaseModel):
    """``{align_by, runs: [{run_id, traces: [{name, context, slice}]}]}`` (all fields required)."""

    align_by: str
    runs: list[AlignRun]


def _aligned(tr: ReadTransaction, align_by: str, run: AlignRun) -> list[dict[str, Any]] | None:
    """The x-axis of each trace of ``run`` (``None``: the run is missing, no frame)."""
    if get_run(tr, run.run_id) is None:
        return None
    out: list[dict[str, Any]] = []
    for trace in run.traces:
        context_id = context_to_id(trace.context)
        if get_context(tr, run.run_id, context_id) != trace.context:
            continue
        if get_summary(tr, SeriesKey(run.run_id, context_id, trace.name)) is None:
            continue
        x_key = SeriesKey(run.run_id, context_id, align_by)
        if get_summary(tr, x_key) is None:
            continue
        last = trace.slice[1]
        block = read_range(tr, x_key, None, last + 1 if last > 0 else None)
        out.append(
            {
                "name": trace.name,
                "context": trace.context,
                "x_axis_values": encode_float64_array(_floats(block.values)),
                "x_axis_iters": encode_float64_array(block.steps),
            }
        )
    return out


@router.post("/search/metric/align/", response_class=StreamingResponse)
async def align_metrics(request: AlignRequest, engine: EngineDep) -> StreamingResponse:
    """For each existing run, its traces' x-axis values from the ``align_by`` metric (full resolution).

    The x-axis is read up to ``slice[1]`` inclusive (no bound when ``slice[1] <= 0``). No progress
    frames.
    """

    async def body() -> AsyncIterator[bytes]:
        for run in request.runs:
            found = await engine.aread(functools.partial(_aligned, align_by=request.align_by, run=run))
            if found is not None:
                yield encode_tree_bytes((run.run_id,), found)

    return stream_response(body())
