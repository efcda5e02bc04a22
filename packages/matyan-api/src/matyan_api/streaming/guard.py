"""The error frame: how a stream that fails after its first byte still ends well-formed.

See docs/http-contract.md, Errors inside a stream.

Once a stream's status line is out, an error can no longer be an enveloped 4xx/5xx. Cutting the
connection instead leaves the UI with a network error (or "Corrupted stream" if a pair were split) and
the client with a silently short answer. :func:`guard_stream` wraps a route's chunk iterator: on an
exception it logs it, sends one last frame ``{"progress_error": [0, 0, {"code", "message"}]}`` and ends
the body normally. The key starts with ``progress``, so the UI takes it for a progress report (it reads
items 0 and 1) and the client skips it, as both do for every progress frame; only a reader that knows
the key sees the error.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, Final

from loguru import logger

from matyan_api.errors import ApiError, error_code
from matyan_api.streaming.tree import encode_tree_bytes

__all__ = ["ERROR_KEY", "error_frame", "guard_stream", "stream_error"]

ERROR_KEY: Final = "progress_error"
_INTERNAL: Final = "Internal server error"


def error_frame(code: str, message: str) -> bytes:
    """The bytes of the error frame carrying ``code`` and ``message``."""
    return encode_tree_bytes((ERROR_KEY,), [0, 0, {"code": code, "message": message}])


def stream_error(value: Any) -> dict[str, str] | None:
    """The ``{"code", "message"}`` of a decoded ``progress_error`` value, ``None`` if it is not one."""
    if isinstance(value, list) and len(value) == 3 and isinstance(value[2], dict):
        code, message = value[2].get("code"), value[2].get("message")
        if isinstance(code, str) and isinstance(message, str):
            return {"code": code, "message": message}
    return None


def _frame_for(exc: Exception) -> bytes:
    if isinstance(exc, ApiError):
        return error_frame(error_code(exc.status_code), exc.detail or "Error")
    logger.opt(exception=exc).error("a stream failed after its first byte")
    return error_frame(error_code(500), _INTERNAL)


def guard_stream(body: AsyncIterator[bytes] | Iterator[bytes]) -> AsyncIterator[bytes] | Iterator[bytes]:
    """``body``'s chunks, then the error frame instead of an exception; sync stays sync (thread pool).

    Cancellation and a client going away (``BaseException``) pass through untouched.
    """
    if isinstance(body, AsyncIterator):
        return _guard_async(body)
    return _guard_sync(body)


async def _guard_async(body: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    try:
        async for chunk in body:
            yield chunk
    except Exception as exc:
        yield _frame_for(exc)


def _guard_sync(body: Iterator[bytes]) -> Iterator[bytes]:
    try:
        yield from body
    except Exception as exc:
        yield _frame_for(exc)
