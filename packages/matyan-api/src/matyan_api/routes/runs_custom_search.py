"""``GET /runs/search/{images,texts,distributions,audios,figures}/`` (docs/http-contract.md).

Like metric search, one frame per run with at least one matching trace, runs in creation order:
``{hash: {params, traces: [{name, context, values, iters, epochs, timestamps}], props, ranges}}``.
The query sees the sequence under the type's own name (``images.name == "x"``), and only traces of the
type's dtype are considered. Progress frames, heartbeats and the terminal ``(0, 0)`` work as in metric
search; the search runs in the search pool (:mod:`matyan_api.search_pool`).

Each literal path is declared on its own, so ``/runs/search/run/`` and ``/runs/search/metric/``
can never be taken by a ``{seq}`` template.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Final

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse

from matyan_api.deps import SearchPoolDep, TimezoneOffset
from matyan_api.query import (
    PlanResult,
    PreparedQuery,
    SequenceView,
    TraceInfo,
    load_run_view,
    load_trace_infos,
    needs_trace_evaluation,
)
from matyan_api.query.frame_parts import run_params
from matyan_api.query.timing import QueryTimer
from matyan_api.routes.custom_object_dump import CUSTOM_SEQS, CustomSeq
from matyan_api.routes.runs_custom_objects_read import (
    Range,
    index_ranges,
    parse_query_range,
    read_custom_trace,
)
from matyan_api.routes.runs_props import run_props
from matyan_api.search_pool.pipeline import Batch, JobContext, SearchJob, StreamPlan
from matyan_api.search_pool.relay import search_response
from matyan_api.streaming import encode_tree_bytes
from matyan_models import context_to_id
from matyan_store.blobs import BlobUriSigner
from matyan_store.engine import ReadTransaction
from matyan_store.runs import get_run
from matyan_store.sequences import SeriesKey

__all__ = ["TIMING_ENDPOINT", "CustomSearch", "CustomSearchJob", "router"]

router = APIRouter(prefix="/runs", tags=["runs"])

# The reference's name for this search path in timing lines and planner-path counts (docs/http-contract.md).
TIMING_ENDPOINT: Final = "iter_matching_sequences"


class CustomSearch:
    """Builds the frames of one custom-object search, a batch of runs per read transaction."""

    def __init__(
        self,
        seq: CustomSeq,
        query: PreparedQuery,
        plan: PlanResult,
        signer: BlobUriSigner,
        timer: QueryTimer,
        *,
        skip_system: bool,
        record_range: Range,
        record_density: int,
        index_range: Range,
        index_density: int,
    ) -> None:
        self.seq = seq
        self.query = query
        self.plan = plan
        self.signer = signer
        self.timer = timer
        self.skip_system = skip_system
        self.record_range = record_range
        self.record_density = record_density
        self.index_range = index_range
        self.index_density = index_density
        self.per_trace = needs_trace_evaluation(query, plan, seq.seq)
        self.per_run = not self.per_trace and (plan.candidates is None or not plan.exact)
        self.names: dict[tuple[str, str], str | None] = {}
        self.runs_checked = 0
        self.runs_matched = 0
        self.traces_checked = 0
        self.trace_matches = 0

    def batch(self, tr: ReadTransaction, items: list[tuple[int, str]]) -> Batch:
        """Encoded frames of ``(position, run_id)`` items (``b""`` for runs without matching traces)."""
        out: Batch = []
        for position, run_id in items:
            frame = self.frame(tr, position - 1, run_id)
            out.append((b"" if frame is None else encode_tree_bytes((run_id,), frame), position))
        return out

    def _selected(self, tr: ReadTransaction, index: int, run_id: str) -> tuple[Any, list[TraceInfo]] | None:
        step = functools.partial(self.timer.step, run_index=index, run_hash=run_id)
        with step("fetch_meta"):
            meta = get_run(tr, run_id)
        if meta is None:
            return None
        self.runs_checked += 1
        with step("fetch_traces"):
            infos = load_trace_infos(tr, run_id)
        with step("build_run_view"):
            view = load_run_view(tr, run_id, with_traces=True, meta=meta, traces=infos, names=self.names)
        if view is None:
            return None
        selected = []
        checked = 0
        t0 = time.perf_counter()
        if not self.per_run or self.query.evaluate(view):
            for info in infos:
                if info.dtype != self.seq.dtype:
                    continue
                if self.plan.trace_names is not None and info.name not in self.plan.trace_names:
                    continue
                checked += 1
                if self.per_trace and not self.query.evaluate(view, SequenceView(info, view), self.seq.seq):
                    continue
                selected.append(info)
        self.traces_checked += checked
        self.trace_matches += len(selected)
        self.timer.log(
            "trace_loop",
            time.perf_counter() - t0,
            run_index=index,
            run_hash=run_id,
            extra=f"traces_checked={checked} matches={len(selected)}",
        )
        if not selected:
            return None
        self.runs_matched += 1
        return meta, selected

    def summary(self) -> None:
        """The request's one ``summary`` timing line."""
        self.timer.summary(
            f"runs_checked={self.runs_checked} runs_matched={self.runs_matched} "
            f"traces_checked={self.traces_checked} trace_matches={self.trace_matches}",
            ("fetch_meta", "build_run_view", "trace_loop"),
        )

    def frame(self, tr: ReadTransaction, index: int, run_id: str) -> dict[str, Any] | None:
        """One run's frame (``index``: its 0-based scan position), or ``None`` when nothing matches."""
        found = self._selected(tr, index, run_id)
        if found is None:
            return None
        meta, selected = found
        traces = []
        max_length = 0
        for info in selected:
            context = dict(info.context)
            key = SeriesKey(run_id, context_to_id(context), info.name)
            read = read_custom_trace(
                tr,
                self.seq,
                key,
                self.signer,
                record_range=self.record_range,
                record_density=self.record_density,
                index_range=self.index_range,
                index_density=self.index_density,
            )
            max_length = max(max_length, read.max_length)
            traces.append(
                {
                    "name": info.name,
                    "context": context,
                    "values": read.values,
                    "iters": read.steps,
                    "epochs": read.epochs,
                    "timestamps": read.timestamps,
                }
            )
        firsts = [i.first_step for i in selected if i.first_step is not None]
        lasts = [i.last_step for i in selected if i.last_step is not None]
        total = [min(firsts), max(lasts) + 1] if firsts and lasts else [0, 0]
        start, stop = self.record_range
        ranges: dict[str, Any] = {
            "record_range_total": total,
            "record_range_used": [start or total[0], stop or total[1]],
        }
        if self.seq.use_list:
            ranges["index_range_total"], ranges["index_range_used"] = index_ranges(
                self.index_range, max_length
            )
        return {
            "params": run_params(tr, run_id, skip_system=self.skip_system),
            "traces": traces,
            "props": run_props(tr, meta),
            "ranges": ranges,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class CustomSearchJob(SearchJob):
    """Runs with matching traces of one custom-object type (see :class:`CustomSearch`)."""

    endpoint: ClassVar[str] = TIMING_ENDPOINT

    seq: CustomSeq
    skip_system: bool = True
    record_range: Range = (None, None)
    record_density: int = 50
    index_range: Range = (None, None)
    index_density: int = 5

    @property
    def seq_name(self) -> str:
        return self.seq.seq

    def plan(self, ctx: JobContext, query: PreparedQuery, timer: QueryTimer) -> StreamPlan:
        plan = self.plan_runs(ctx, query, timer)
        ids = self.run_ids(ctx, plan)
        search = CustomSearch(
            self.seq,
            query,
            plan,
            ctx.signer,
            timer,
            skip_system=self.skip_system,
            record_range=self.record_range,
            record_density=self.record_density,
            index_range=self.index_range,
            index_density=self.index_density,
        )
        return StreamPlan(list(enumerate(ids, start=1)), len(ids), search.batch, summary=search.summary)


@dataclass(frozen=True, slots=True)
class CustomSearchParams:
    """The query parameters every custom-object search takes."""

    q: str
    tz_offset: int
    skip_system: bool
    report_progress: bool
    record_range: Range
    record_density: int
    index_range: Range
    index_density: int


def _custom_search_params(
    q: str = "",
    skip_system: bool = True,
    report_progress: bool = True,
    record_range: str = "",
    record_density: int = 50,
    index_range: str = "",
    index_density: int = 5,
    x_timezone_offset: TimezoneOffset = 0,
) -> CustomSearchParams:
    return CustomSearchParams(
        q=q,
        tz_offset=x_timezone_offset,
        skip_system=skip_system,
        report_progress=report_progress,
        record_range=parse_query_range(record_range),
        record_density=record_density,
        index_range=parse_query_range(index_range),
        index_density=index_density,
    )


CustomSearchParamsDep = Annotated[CustomSearchParams, Depends(_custom_search_params)]


async def _search(pool: SearchPoolDep, seq: str, params: CustomSearchParams) -> StreamingResponse:
    job = CustomSearchJob(
        q=params.q,
        tz_offset=params.tz_offset,
        seq=CUSTOM_SEQS[seq],
        skip_system=params.skip_system,
        record_range=params.record_range,
        record_density=params.record_density,
        index_range=params.index_range,
        index_density=params.index_density,
    )
    return await search_response(pool, job, report_progress=params.report_progress)


@router.get("/search/images/", response_class=StreamingResponse, operation_id="search_images")
async def search_images(pool: SearchPoolDep, params: CustomSearchParamsDep) -> StreamingResponse:
    """Runs with matching image traces (``images`` in the query), records sampled to
    ``record_density``, each step's list sliced by ``index_range`` and thinned to ``index_density``."""
    return await _search(pool, "images", params)


@router.get("/search/texts/", response_class=StreamingResponse, operation_id="search_texts")
async def search_texts(pool: SearchPoolDep, params: CustomSearchParamsDep) -> StreamingResponse:
    """Runs with matching text traces (``texts`` in the query), records sampled to
    ``record_density``, each step's list sliced by ``index_range`` and thinned to ``index_density``."""
    return await _search(pool, "texts", params)


@router.get("/search/distributions/", response_class=StreamingResponse, operation_id="search_distributions")
async def search_distributions(pool: SearchPoolDep, params: CustomSearchParamsDep) -> StreamingResponse:
    """Runs with matching distribution traces (``distributions`` in the query), records sampled to
    ``record_density``."""
    return await _search(pool, "distributions", params)


@router.get("/search/audios/", response_class=StreamingResponse, operation_id="search_audios")
async def search_audios(pool: SearchPoolDep, params: CustomSearchParamsDep) -> StreamingResponse:
    """Runs with matching audio traces (``audios`` in the query), records sampled to
    ``record_density``, each step's list sliced by ``index_range`` and thinned to ``index_density``."""
    return await _search(pool, "audios", params)


@router.get("/search/figures/", response_class=StreamingResponse, operation_id="search_figures")
async def search_figures(pool: SearchPoolDep, params: CustomSearchParamsDep) -> StreamingResponse:
    """Runs with matching figure traces (``figures`` in the query), records sampled to
    ``record_density``."""
    return await _search(pool, "figures", params)
