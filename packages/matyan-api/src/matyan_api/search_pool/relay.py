"""A search job's output as the HTTP answer: an enveloped 4xx, or the stream the API process relays.

The answer waits for the query to compile (a bad query is always a 400), then is held back until the
job's first output or for ``MATYAN_SEARCH_HOLD_SECONDS``: a limit reached before anything was streamed
(a run search evaluates every run before its first frame) is then an enveloped error with its status.
Once streaming, the API process relays the frames as they come, numbers the progress frames, sends a
heartbeat every :data:`~matyan_api.streaming.PROGRESS_REPORT_INTERVAL` seconds of silence (the search
process may be inside one long C call), and ends a failed stream with the error frame every stream
ends with when it fails after its first byte (``progress_error``, :mod:`matyan_api.streaming.guard`).
A client that goes away closes the response, which kills the job's process.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

from fastapi.responses import StreamingResponse
from loguru import logger
from starlette.types import Receive, Scope, Send

from matyan_api.errors import ApiError
from matyan_api.search_pool.pipeline import SearchJob
from matyan_api.search_pool.pool import SearchFailed, SearchPool, SearchRun
from matyan_api.search_pool.protocol import Message
from matyan_api.streaming import (
    PROGRESS_REPORT_INTERVAL,
    STREAM_MEDIA_TYPE,
    ProgressReporter,
    error_frame,
    guard_stream,
)

__all__ = ["search_response"]


class _SearchStreamResponse(StreamingResponse):
    """A stream whose search process is given back (or killed) however the response ends."""

    def __init__(self, run: SearchRun, body: AsyncIterator[bytes]) -> None:
        # guard_stream: any other failure while relaying ends the body with the same error frame.
        super().__init__(guard_stream(body), media_type=STREAM_MEDIA_TYPE)
        self._run = run

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._run.close()


async def search_response(pool: SearchPool, job: SearchJob, *, report_progress: bool) -> StreamingResponse:
    """Run ``job`` in the pool; its answer (raises :class:`ApiError` for an error before streaming)."""
    try:
        run = await pool.submit(job)
    except SearchFailed as exc:
        raise ApiError(exc.status, exc.message) from None
    events = run.events(PROGRESS_REPORT_INTERVAL)
    head: list[Message] = []
    try:
        # A bad query is always a 400: the answer waits for the compile step whatever the hold.
        prepared = False
        while not prepared:
            event = await anext(events)
            prepared = event is not None and event[0] == "prepared"
        hold_until = time.monotonic() + pool.limits.matyan_search_hold_seconds
        while not head and time.monotonic() < hold_until:
            event = await anext(events)
            if event is not None:  # None: a heartbeat tick, not sent while the answer is held back
                head.append(event)
    except SearchFailed as exc:
        raise ApiError(exc.status, exc.message) from None
    except BaseException:
        run.close()
        raise
    return _SearchStreamResponse(run, _relay(head, events, ProgressReporter(report_progress)))


async def _relay(
    head: list[Message], events: AsyncIterator[Message | None], reporter: ProgressReporter
) -> AsyncIterator[bytes]:
    try:
        for message in head:
            chunk = b"".join(_render(message, reporter))
            if chunk:
                yield chunk
        async for event in events:
            chunk = reporter.heartbeat() if event is None else b"".join(_render(event, reporter))
            if chunk:
                yield chunk
    except SearchFailed as exc:
        logger.warning("search stopped after its stream started: {}", exc.message)
        yield error_frame(exc.code, exc.message)


def _render(message: Message, reporter: ProgressReporter) -> Iterator[bytes]:
    kind, payload = message
    if kind == "frames":
        frames, total, skip_repeat = payload
        for frame, position in frames:
            if frame:
                yield frame
            if position >= 0:
                yield reporter.report(position, total, skip_repeat=skip_repeat)
    elif kind == "progress":
        checked, total, skip_repeat = payload
        yield reporter.report(checked, total, skip_repeat=skip_repeat)
