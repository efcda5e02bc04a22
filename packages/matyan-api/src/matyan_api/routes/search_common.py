"""Pieces shared by the streaming search routes (docs/http-contract.md, Routes, Progress frames).

- :func:`prepared` turns ``q`` into a :class:`PreparedQuery` or an enveloped 400 before any byte is sent;
- :func:`run_params` / :func:`metric_trace_summaries` build the per-run ``params`` and ``traces.metric``;
- :func:`stream_response` wraps an async byte generator as the ``application/octet-stream`` response;
- :func:`batched_with_heartbeats` runs store work off the event loop and sends heartbeat frames while
  a batch is slow, so a waiting client (or proxy) sees a live connection.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from typing import Any, Final

from fastapi.responses import StreamingResponse

from matyan_api.errors import ApiError
from matyan_api.query import PreparedQuery, QuerySyntaxError, prepare_query
from matyan_api.streaming import PROGRESS_REPORT_INTERVAL, ProgressReporter, heartbeats_until_done
from matyan_models.sequence_kinds import BLOBS_ATTR, SYSTEM_PARAMS_ATTR, is_metric_dtype
from matyan_store.engine import ReadTransaction
from matyan_store.runs import get_contexts, get_run_attrs
from matyan_store.sequences import list_run_series

__all__ = [
    "BATCH_SIZE",
    "STREAM_MEDIA_TYPE",
    "Batch",
    "batched_with_heartbeats",
    "metric_last",
    "metric_trace_summaries",
    "prepared",
    "run_params",
    "stream_response",
]

STREAM_MEDIA_TYPE: Final = "application/octet-stream"
# Runs read per store transaction: small enough that a heartbeat-free gap stays short, large enough
# to amortise the thread hop.
BATCH_SIZE: Final = 10

type Batch = list[tuple[bytes, int]]
"""A batch's output: each encoded data frame (maybe ``b""``) with the progress count reached after it."""


def prepared(q: str, tz_offset: int) -> PreparedQuery:
    """``q`` checked and compiled; a syntax or sandbox error is a 400 ``Invalid query syntax: ...``."""
    try:
        return prepare_query(q, tz_offset_minutes=tz_offset)
    except QuerySyntaxError as exc:
        raise ApiError(400, exc.message) from None


def run_params(tr: ReadTransaction, run_id: str, *, skip_system: bool) -> dict[str, Any]:
    """The run's attributes minus ``__blobs__`` (and ``__system_params`` with ``skip_system``)."""
    attrs = get_run_attrs(tr, run_id)
    params = dict(attrs) if isinstance(attrs, Mapping) else {}
    params.pop(BLOBS_ATTR, None)
    if skip_system:
        params.pop(SYSTEM_PARAMS_ATTR, None)
    return params


def metric_last(value: Any) -> float:
    """A summary's last value as a float for the stream (non-numbers: 0.0; NaN stays NaN)."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    return 0.0


def metric_trace_summaries(tr: ReadTransaction, run_id: str, *, full: bool) -> list[dict[str, Any]]:
    """``traces.metric`` of run search (``full``: last, last_step, first, min, max) or active runs.

    Only metric dtypes, in storage order (context id, name). ``first``/``min``/``max`` repeat ``last``
    as the reference does: the UI's run table reads them as the latest value.
    """
    contexts = get_contexts(tr, run_id)
    out: list[dict[str, Any]] = []
    for key, summary in list_run_series(tr, run_id):
        if not is_metric_dtype(summary.dtype):
            continue
        last = metric_last(summary.last_value)
        values: dict[str, Any] = {"last": last, "last_step": summary.last_step}
        if full:
            values.update(first=last, min=last, max=last)
        out.append({"name": key.name, "context": contexts.get(key.context_id, {}), "values": values})
    return out


def stream_response(body: AsyncIterator[bytes] | Iterator[bytes]) -> StreamingResponse:
    """The binary-codec response (never labelled JSON: the UI picks its decoder by content type)."""
    return StreamingResponse(body, media_type=STREAM_MEDIA_TYPE)


async def batched_with_heartbeats[T](
    items: Sequence[T],
    load: Callable[[list[T]], Awaitable[Batch]],
    reporter: ProgressReporter,
    *,
    after_frame: Callable[[int], bytes] | None = None,
    interval: float = PROGRESS_REPORT_INTERVAL,
    batch_size: int = BATCH_SIZE,
) -> AsyncIterator[bytes]:
    """Frames of ``items`` loaded ``batch_size`` at a time, the next batch prefetched while one is sent.

    ``load`` returns the encoded frames of a batch with a progress count each. While a batch is pending,
    heartbeats go out every ``interval`` seconds. ``after_frame(count)`` may add a progress frame after
    each item (progress frames are numbered here, on the event loop, so heartbeats stay in sequence).
    Pending work is cancelled if the client goes away (the generator is closed).
    """
    batches = [list(items[i : i + batch_size]) for i in range(0, len(items), batch_size)]
    if not batches:
        return
    pending: asyncio.Task[Batch] = asyncio.ensure_future(load(batches[0]))
    try:
        for index in range(len(batches)):
            async for beat in heartbeats_until_done(pending, reporter, interval):
                yield beat
            frames = pending.result()
            if index + 1 < len(batches):
                pending = asyncio.ensure_future(load(batches[index + 1]))
            for frame, count in frames:
                if frame:
                    yield frame
                if after_frame is not None:
                    extra = after_frame(count)
                    if extra:
                        yield extra
    finally:
        if not pending.done():
            pending.cancel()
