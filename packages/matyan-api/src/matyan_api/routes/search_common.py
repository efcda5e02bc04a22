"""Pieces shared by the streaming search routes (docs/http-contract.md, Routes and Streaming frames).

- :func:`stream_response` wraps a byte iterator as the ``application/octet-stream`` response;
- a run's ``params`` and ``traces.metric`` are built by :mod:`matyan_api.query.frame_parts` (the search
  processes build them too).

The searches themselves run in the search pool (:mod:`matyan_api.search_pool`): each route describes its
request as a :class:`~matyan_api.search_pool.pipeline.SearchJob` and answers with
:func:`~matyan_api.search_pool.relay.search_response`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

from fastapi.responses import StreamingResponse

from matyan_api.streaming import STREAM_MEDIA_TYPE, guard_stream

__all__ = ["STREAM_MEDIA_TYPE", "stream_response"]


def stream_response(body: AsyncIterator[bytes] | Iterator[bytes]) -> StreamingResponse:
    """The binary-codec response (never labelled JSON: the UI picks its decoder by content type).

    An error after the first byte ends the body with the error frame (``guard_stream``).
    """
    return StreamingResponse(guard_stream(body), media_type=STREAM_MEDIA_TYPE)
