"""``GET /runs/search/{seq}/`` for images, texts, distributions, audios and figures.

See docs/http-contract.md, Custom objects.

Like metric search, one frame per run with at least one matching trace, runs in creation order:
``{hash: {params, traces: [{name, context, values, iters, epochs, timestamps}], props, ranges}}``.
The query sees the sequence under the type's own name (``images.name == "x"``), and only traces of the
type's dtype are considered. Progress frames, heartbeats and the terminal ``(0, 0)`` work as in metric
search.

Each literal path is registered on its own, so ``/runs/search/run/`` and ``/runs/search/metric/``
can never be taken by a ``{seq}`` template.
"""

from __future__ import annotations

import functools
import time
from collections.abc import AsyncIterator
from typing import Any, Final

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from matyan_api.deps import BlobUriSignerDep, EngineDep, SettingsDep, TimezoneOffset
from matyan_api.query import (
    PlanResult,
    PreparedQuery,
    SequenceView,
    TraceInfo,
    load_run_view,
    load_trace_infos,
    needs_trace_evaluation,
    plan_query,
)
from matyan_api.query.paging import list_created_ids
from matyan_api.query.timing import QueryTimer, record_planner_path
from matyan_api.routes.custom_object_dump import CUSTOM_SEQS, CustomSeq
from matyan_api.routes.runs_custom_objects_read import (
    Range,
    index_ranges,
    parse_query_range,
    read_custom_trace,
)
from matyan_api.routes.runs_props import run_props
from matyan_api.routes.search_common import (
    Batch,
    batched_with_heartbeats,
    prepared,
    run_params,
    stream_response,
)
from matyan_api.streaming import ProgressReporter, encode_tree_bytes
from matyan_models import context_to_id
from matyan_store.blobs import BlobUriSigner
from matyan_store.engine import Engine, ReadTransaction
from matyan_store.runs import get_run
from matyan_store.sequences import SeriesKey

__all__ = ["TIMING_ENDPOINT", "CustomSearch", "router"]

router = APIRouter(prefix="/runs", tags=["runs"])

# The reference's name for this search path in timing lines and planner-path counts
# (docs/http-contract.md, Query language).
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


async def _plan(
    engine: Engine, seq: CustomSeq, query: PreparedQuery, timer: QueryTimer
) -> tuple[PlanResult, list[str]]:
    """The plan and the runs to visit in creation order (a scan lists the created-at index)."""
    t0 = time.perf_counter()
    plan = await engine.aread(lambda tr: plan_query(tr, query, seq_name=seq.seq))
    if plan.candidates is None:
        record_planner_path("lazy", TIMING_ENDPOINT, "no_candidates")
        timer.path = "lazy"
    else:
        record_planner_path("fast", TIMING_ENDPOINT)
        timer.path = "candidate"
    timer.log("plan_query", time.perf_counter() - t0)
    if plan.candidates is not None:
        return plan, plan.candidates  # already in creation order
    return plan, await list_created_ids(engine)


def _register(seq: CustomSeq) -> None:
    async def search(
        engine: EngineDep,
        signer: BlobUriSignerDep,
        settings: SettingsDep,
        q: str = "",
        skip_system: bool = True,
        report_progress: bool = True,
        record_range: str = "",
        record_density: int = 50,
        index_range: str = "",
        index_density: int = 5,
        x_timezone_offset: TimezoneOffset = 0,
    ) -> StreamingResponse:
        query = prepared(q, x_timezone_offset)
        records = parse_query_range(record_range)
        indices = parse_query_range(index_range)

        async def body() -> AsyncIterator[bytes]:
            reporter = ProgressReporter(report_progress)
            timer = QueryTimer(settings.query_timing_enabled, TIMING_ENDPOINT)
            plan, ids = await _plan(engine, seq, query, timer)
            search = CustomSearch(
                seq,
                query,
                plan,
                signer,
                timer,
                skip_system=skip_system,
                record_range=records,
                record_density=record_density,
                index_range=indices,
                index_density=index_density,
            )
            total = len(ids)
            if total:
                yield reporter.report(0, total)

            async def load(items: list[tuple[int, str]]) -> Batch:
                return await engine.aread(functools.partial(search.batch, items=items))

            def progress(position: int) -> bytes:
                return reporter.report(position, total, skip_repeat=True)

            async for chunk in batched_with_heartbeats(
                list(enumerate(ids, start=1)), load, reporter, after_frame=progress
            ):
                yield chunk
            search.summary()
            yield reporter.finish()

        return stream_response(body())

    search.__doc__ = (
        f"Runs with matching {seq.seq} traces (the query binds the sequence as ``{seq.seq}``), "
        "records sampled to ``record_density``"
        + (
            ", each step's list sliced by ``index_range`` and thinned to ``index_density``."
            if seq.use_list
            else "."
        )
    )
    router.add_api_route(
        f"/search/{seq.seq}/",
        search,
        methods=["GET"],
        response_class=StreamingResponse,
        name=f"search_{seq.seq}",
        operation_id=f"search_{seq.seq}",
    )


for _seq in CUSTOM_SEQS.values():
    _register(_seq)
