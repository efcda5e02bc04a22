"""``GET /runs/search/{seq}/`` for images, texts, distributions, audios and figures (http-api.md §3.10).

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
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from matyan_api.deps import BlobUriSignerDep, EngineDep, TimezoneOffset
from matyan_api.query import (
    PlanResult,
    PreparedQuery,
    SequenceView,
    TraceInfo,
    has_unindexed_sequence_predicate,
    load_run_view,
    load_trace_infos,
    needs_trace_evaluation,
    plan_query,
)
from matyan_api.query.paging import list_created_ids
from matyan_api.query.timing import record_planner_path
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

__all__ = ["CustomSearch", "router"]

router = APIRouter(prefix="/runs", tags=["runs"])


class CustomSearch:
    """Builds the frames of one custom-object search, a batch of runs per read transaction."""

    def __init__(
        self,
        seq: CustomSeq,
        query: PreparedQuery,
        plan: PlanResult,
        signer: BlobUriSigner,
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
        self.skip_system = skip_system
        self.record_range = record_range
        self.record_density = record_density
        self.index_range = index_range
        self.index_density = index_density
        self.per_trace = needs_trace_evaluation(query, plan, seq.seq)
        self.per_run = not self.per_trace and (plan.candidates is None or not plan.exact)
        self.names: dict[tuple[str, str], str | None] = {}

    def batch(self, tr: ReadTransaction, items: list[tuple[int, str]]) -> Batch:
        """Encoded frames of ``(position, run_id)`` items (``b""`` for runs without matching traces)."""
        out: Batch = []
        for position, run_id in items:
            frame = self.frame(tr, run_id)
            out.append((b"" if frame is None else encode_tree_bytes((run_id,), frame), position))
        return out

    def _selected(self, tr: ReadTransaction, run_id: str) -> tuple[Any, list[TraceInfo]] | None:
        meta = get_run(tr, run_id)
        if meta is None:
            return None
        infos = load_trace_infos(tr, run_id)
        view = load_run_view(tr, run_id, with_traces=True, meta=meta, traces=infos, names=self.names)
        if view is None or (self.per_run and not self.query.evaluate(view)):
            return None
        selected = []
        for info in infos:
            if info.dtype != self.seq.dtype:
                continue
            if self.plan.trace_names is not None and info.name not in self.plan.trace_names:
                continue
            if self.per_trace and not self.query.evaluate(view, SequenceView(info, view), self.seq.seq):
                continue
            selected.append(info)
        return (meta, selected) if selected else None

    def frame(self, tr: ReadTransaction, run_id: str) -> dict[str, Any] | None:
        """One run's frame, or ``None`` when the run is gone or no trace matches."""
        found = self._selected(tr, run_id)
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


async def _plan(engine: Engine, seq: CustomSeq, query: PreparedQuery) -> tuple[PlanResult, list[str]]:
    """The plan and the runs to visit in creation order (a scan lists the created-at index)."""
    plan = await engine.aread(lambda tr: plan_query(tr, query, seq_name=seq.seq))
    endpoint = f"{seq.seq}_search"
    if has_unindexed_sequence_predicate(query, seq.seq):
        record_planner_path("lazy", endpoint, "unindexed_sequence")
    elif plan.candidates is None:
        record_planner_path("lazy", endpoint, "no_candidates")
    else:
        record_planner_path("fast", endpoint)
    if plan.candidates is not None:
        return plan, plan.candidates  # already in creation order
    return plan, await list_created_ids(engine)


def _register(seq: CustomSeq) -> None:
    async def search(
        engine: EngineDep,
        signer: BlobUriSignerDep,
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
            plan, ids = await _plan(engine, seq, query)
            search = CustomSearch(
                seq,
                query,
                plan,
                signer,
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
