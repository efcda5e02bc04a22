"""``POST /runs/{run_id}/{seq}/get-batch/`` and ``.../get-step/`` for the five custom sequences
(docs/http-contract.md, Custom objects).

Both take a body ``[{name, context}]`` and stream one frame per requested trace that exists with that
exact context and the sequence's dtype (others are skipped, still 200). A frame's tree is the trace
view itself (no run-hash wrapper). A missing run is a 404 before anything is streamed: the whole
answer is read in one transaction first, then sent.

The routes are registered per sequence name (literal paths), so they never shadow, or are shadowed
by, the other ``/runs/{run_id}/...`` routes.
"""

from __future__ import annotations

import functools
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from matyan_api.deps import BlobUriSignerDep, EngineDep
from matyan_api.routes.custom_object_dump import CUSTOM_SEQS, CustomSeq, ObjectDumper
from matyan_api.routes.runs_common import require_run
from matyan_api.routes.runs_custom_objects_read import (
    Range,
    index_ranges,
    parse_query_range,
    read_custom_trace,
)
from matyan_api.routes.runs_metrics_json import TraceIn
from matyan_api.routes.search_common import stream_response
from matyan_api.streaming import coalesce, encode_tree_bytes
from matyan_models import context_to_id
from matyan_store.blobs import BlobUriSigner
from matyan_store.engine import ReadTransaction
from matyan_store.runs import get_context
from matyan_store.sequences import SeriesKey, SeriesSummary, get_summary, read_range

__all__ = ["router"]

router = APIRouter(prefix="/runs", tags=["runs"])


def _found(
    tr: ReadTransaction, run_id: str, seq: CustomSeq, trace: TraceIn
) -> tuple[SeriesKey, SeriesSummary] | None:
    """The requested trace's key and summary, if it exists with that context and the sequence's dtype."""
    context_id = context_to_id(trace.context)
    if get_context(tr, run_id, context_id) != trace.context:
        return None
    key = SeriesKey(run_id, context_id, trace.name)
    summary = get_summary(tr, key)
    if summary is None or summary.dtype != seq.dtype:
        return None
    return key, summary


def _batch_frames(
    tr: ReadTransaction,
    *,
    run_id: str,
    seq: CustomSeq,
    traces: list[TraceIn],
    signer: BlobUriSigner,
    record_range: Range,
    record_density: int,
    index_range: Range,
    index_density: int,
) -> list[bytes]:
    require_run(tr, run_id)
    frames: list[bytes] = []
    for trace in traces:
        found = _found(tr, run_id, seq, trace)
        if found is None:
            continue
        key, summary = found
        read = read_custom_trace(
            tr,
            seq,
            key,
            signer,
            record_range=record_range,
            record_density=record_density,
            index_range=index_range,
            index_density=index_density,
        )
        view: dict[str, Any] = {
            "name": trace.name,
            "context": trace.context,
            "values": read.values,
            "iters": read.steps,
            "record_range_used": [read.steps[0], read.steps[-1] + 1] if read.steps else [0, 0],
            "record_range_total": [summary.first_step, summary.last_step + 1] if summary.count else [0, 0],
            "index_range_used": None,
            "index_range_total": None,
        }
        if seq.use_list:
            view["index_range_total"], view["index_range_used"] = index_ranges(index_range, read.max_length)
        frames.append(encode_tree_bytes((), view))
    return frames


def _step_frames(
    tr: ReadTransaction,
    *,
    run_id: str,
    seq: CustomSeq,
    traces: list[TraceIn],
    signer: BlobUriSigner,
    record_step: int,
    index_range: Range,
    index_density: int,
) -> list[bytes]:
    require_run(tr, run_id)
    frames: list[bytes] = []
    if record_step < -1:
        return frames
    for trace in traces:
        found = _found(tr, run_id, seq, trace)
        if found is None:
            continue
        key, summary = found
        step = summary.last_step if record_step == -1 else record_step
        block = read_range(tr, key, step, step + 1)
        if len(block) == 0:
            continue
        dumper = ObjectDumper(
            seq,
            signer if seq.blob_uris else None,
            run_id,
            key.context_id,
            key.name,
            index_range=index_range,
            index_density=index_density,
        )
        values = dumper.dump_list(step, block.values[0])
        view: dict[str, Any] = {
            "name": trace.name,
            "context": trace.context,
            "values": values,
            "iters": [step],
            "record_range_used": [step, step],
            "record_range_total": [summary.first_step, summary.last_step + 1],
            "index_range_used": None,
            "index_range_total": None,
        }
        if seq.use_list:
            n = len(values)
            view["index_range_total"] = [0, n]
            view["index_range_used"] = [index_range[0] or 0, index_range[1] or n]
        frames.append(encode_tree_bytes((), view))
    return frames


def _register(seq: CustomSeq) -> None:
    async def get_batch(
        run_id: str,
        traces: list[TraceIn],
        engine: EngineDep,
        signer: BlobUriSignerDep,
        record_range: str = "",
        record_density: int = 50,
        index_range: str = "",
        index_density: int = 5,
    ) -> StreamingResponse:
        read = functools.partial(
            _batch_frames,
            run_id=run_id,
            seq=seq,
            traces=traces,
            signer=signer,
            record_range=parse_query_range(record_range),
            record_density=record_density,
            index_range=parse_query_range(index_range),
            index_density=index_density,
        )
        return stream_response(coalesce(await engine.aread(read)))

    async def get_step(
        run_id: str,
        traces: list[TraceIn],
        engine: EngineDep,
        signer: BlobUriSignerDep,
        record_step: int = -1,
        index_range: str = "",
        index_density: int = 5,
    ) -> StreamingResponse:
        read = functools.partial(
            _step_frames,
            run_id=run_id,
            seq=seq,
            traces=traces,
            signer=signer,
            record_step=record_step,
            index_range=parse_query_range(index_range),
            index_density=index_density,
        )
        return stream_response(coalesce(await engine.aread(read)))

    get_batch.__doc__ = (
        f"Sampled {seq.seq} of the requested traces of one run, one frame per trace (404 for a missing run)."
    )
    get_step.__doc__ = f"The {seq.seq} of one step (default: the last) of the requested traces of one run."
    router.add_api_route(
        f"/{{run_id}}/{seq.seq}/get-batch/",
        get_batch,
        methods=["POST"],
        response_class=StreamingResponse,
        name=f"get_{seq.seq}_batch",
        operation_id=f"get_{seq.seq}_batch",
    )
    router.add_api_route(
        f"/{{run_id}}/{seq.seq}/get-step/",
        get_step,
        methods=["POST"],
        response_class=StreamingResponse,
        name=f"get_{seq.seq}_step",
        operation_id=f"get_{seq.seq}_step",
    )


for _seq in CUSTOM_SEQS.values():
    _register(_seq)
