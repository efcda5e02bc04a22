"""The JSON error envelope every 4xx/5xx response carries, and the handlers that produce it.

Shape (docs/http-contract.md, Error envelope)::

    {"error": {"code": "<code>", "message": "<msg>"}, "detail": "<msg>"}

``detail`` always equals ``error.message``: the released UI reads ``detail``. Unknown routes, wrong
methods, validation errors, store errors and unexpected exceptions all come out in this shape; a stack
trace never reaches a client.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from loguru import logger
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from matyan_api.json_encoding import SafeJSONResponse
from matyan_store.engine import LimitExceeded
from matyan_store.entities import EntityExists, EntityNotFound, InvalidEntity
from matyan_store.runs import RunNotFound

__all__ = [
    "ApiError",
    "CatchAllErrorsMiddleware",
    "error_body",
    "error_code",
    "error_response",
    "install_error_handlers",
]

_CODES: Final[dict[int, str]] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    408: "request_timeout",
    409: "conflict",
    422: "validation_error",
    500: "internal_error",
}

_DEFAULT_MESSAGES: Final[dict[int, str]] = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    408: "Request timeout",
    409: "Conflict",
    422: "Validation error",
    500: "Internal server error",
}

# Handlers raise their 404s without a detail; the reference then answers with the HTTP reason phrase.
NOT_FOUND_MESSAGE: Final = "Not Found"


class ApiError(Exception):
    """Raise from a route to answer ``status_code`` with ``detail`` in the envelope."""

    def __init__(self, status_code: int, detail: str | None = None) -> None:
        super().__init__(detail or "")
        self.status_code = status_code
        self.detail = detail


def error_code(status_code: int) -> str:
    """The envelope's ``code`` for a status (``"error"`` for statuses without a name of their own)."""
    return _CODES.get(status_code, "error")


def _message(status_code: int, detail: Any) -> str:
    if isinstance(detail, str) and detail:
        return detail
    if isinstance(detail, Sequence) and not isinstance(detail, str | bytes) and detail:
        parts = [str(item.get("msg", item)) if isinstance(item, Mapping) else str(item) for item in detail]
        return "; ".join(parts)
    return _DEFAULT_MESSAGES.get(status_code, "Error")


def error_body(status_code: int, detail: Any = None) -> dict[str, Any]:
    """The envelope for ``status_code``; ``detail`` may be a string, a list of errors or ``None``."""
    message = _message(status_code, detail)
    return {"error": {"code": error_code(status_code), "message": message}, "detail": message}


def error_response(
    status_code: int, detail: Any = None, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """A JSON response carrying the envelope (its message may quote client text: SafeJSONResponse)."""
    return SafeJSONResponse(error_body(status_code, detail), status_code=status_code, headers=headers)


async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    detail = exc.detail
    if detail is None and exc.status_code == 404:
        detail = NOT_FOUND_MESSAGE
    return error_response(exc.status_code, detail)


async def _http_exception(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    # Starlette fills a missing detail with the reason phrase ("Not Found", "Method Not Allowed").
    return error_response(exc.status_code, exc.detail, headers=exc.headers)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(422, list(exc.errors()))


async def _not_found(_request: Request, _exc: Exception) -> JSONResponse:
    return error_response(404, NOT_FOUND_MESSAGE)


async def _bad_request(_request: Request, exc: Exception) -> JSONResponse:
    return error_response(400, str(exc))


async def _internal_error(_request: Request, _exc: Exception) -> JSONResponse:
    return error_response(500)


def install_error_handlers(app: FastAPI) -> None:
    """Register the envelope handlers for HTTP errors, validation errors and store errors."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(EntityNotFound, _not_found)
    app.add_exception_handler(RunNotFound, _not_found)
    app.add_exception_handler(EntityExists, _bad_request)
    app.add_exception_handler(InvalidEntity, _bad_request)
    app.add_exception_handler(LimitExceeded, _bad_request)
    # Starlette's outermost ServerErrorMiddleware answers plain text unless given a handler: this one
    # covers an error in a middleware outside CatchAllErrorsMiddleware (it logs the traceback itself).
    app.add_exception_handler(Exception, _internal_error)


class CatchAllErrorsMiddleware:
    """Answer any exception that escapes the app with the 500 envelope, inside CORS and metrics.

    Starlette's own 500 handler sits outside every user middleware, so its responses would lack the
    CORS headers and the request metrics; this one sits just outside the router instead.

    A response's start (status and headers) is held back until its first body message: an error
    between the two (a streaming body failing before its first chunk) still gets the envelope instead
    of the server's plain-text 500. Once body bytes are out nothing can be sent any more: the error is
    logged and the connection closed by re-raising (the binary streams end with an error frame
    instead, docs/http-contract.md, Errors inside a stream).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held_start: Message | None = None
        body_started = False

        async def holding_send(message: Message) -> None:
            nonlocal held_start, body_started
            if message["type"] == "http.response.start":
                held_start = message
                return
            if held_start is not None:
                start, held_start = held_start, None
                await send(start)
            body_started = True
            await send(message)

        try:
            await self.app(scope, receive, holding_send)
        except Exception:
            logger.opt(exception=True).error(
                "unhandled error on {} {}", scope.get("method"), scope.get("path")
            )
            if body_started:
                raise
            await error_response(500)(scope, receive, send)
            return
        if held_start is not None:  # a response without a body message (not ASGI, but be safe)
            await send(held_start)
