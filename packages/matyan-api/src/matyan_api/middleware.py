"""ASGI middleware: path normalisation (no redirects), request metrics, request spans, body timeout.

Order, outermost first (docs/http-contract.md, Middleware order): CORS -> path normalisation -> metrics ->
spans -> body timeout -> catch-all errors -> authentication (``matyan_api.auth``) -> UI pages on
negotiated paths (``matyan_api.ui``) -> router. :func:`matyan_api.app.create_app` installs them in that
order.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Final

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from matyan_api import metrics

__all__ = [
    "BodyTimeoutMiddleware",
    "PathNormalizeMiddleware",
    "RequestMetricsMiddleware",
    "RequestSpanMiddleware",
    "normalize_request_path",
    "route_template",
]

# FastAPI's own documentation pages are declared without a slash; rewriting them would loop.
_SLASHLESS_PATHS: Final = frozenset({"/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"})
_REPEATED_SLASHES: Final = re.compile(r"/{2,}")
_PATH_PARAM: Final = re.compile(r"\{[^}]*\}")
UNMATCHED_TEMPLATE: Final = "<unmatched>"


def normalize_request_path(path: str) -> str:
    """Collapse repeated slashes and end the path with one (docs pages excepted).

    Every route is declared with a trailing slash, so ``/x``, ``/x/`` and ``//x`` all reach it without
    a redirect (redirects break CORS preflight; the released UI calls ``tags//{id}``).
    """
    path = _REPEATED_SLASHES.sub("/", path or "/")
    bare = path.rstrip("/") or "/"
    if bare in _SLASHLESS_PATHS:
        return bare
    return path if path.endswith("/") else path + "/"


class PathNormalizeMiddleware:
    """Rewrite ``path`` and ``raw_path`` with :func:`normalize_request_path` before routing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            path = scope.get("path", "/")
            normalized = normalize_request_path(path)
            if normalized != path:
                scope = dict(scope)
                scope["path"] = normalized
                scope["raw_path"] = normalized.encode("utf-8", "surrogateescape")
        await self.app(scope, receive, send)


def route_template(scope: Scope) -> str:
    """The label of a request: its route's template with every parameter as ``{id}``.

    ``/api/v1/rest/runs/0cf28fd9b5bf2002/info/`` -> ``/api/v1/rest/runs/{id}/info/``. Requests that
    matched no route share one label, so stray paths cannot grow the label set.
    """
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    if not isinstance(template, str):
        return UNMATCHED_TEMPLATE
    return _PATH_PARAM.sub("{id}", template)


class _StatusRecorder:
    def __init__(self, send: Send) -> None:
        self.send = send
        self.status = 500

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
        await self.send(message)


class RequestMetricsMiddleware:
    """Count requests and time them, labelled by method, route template and status class."""

    def __init__(self, app: ASGIApp, *, enabled: bool = True) -> None:
        self.app = app
        self.enabled = enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.enabled:
            await self.app(scope, receive, send)
            return
        # The router records the matched route on the scope it is given; share ours with it.
        scope = dict(scope)
        recorder = _StatusRecorder(send)
        started = time.perf_counter()
        try:
            await self.app(scope, receive, recorder)
        finally:
            metrics.observe_request(
                scope.get("method", "GET"),
                route_template(scope),
                recorder.status,
                time.perf_counter() - started,
            )


class RequestSpanMiddleware:
    """One server span per HTTP request, named ``METHOD /route/template/``."""

    def __init__(self, app: ASGIApp, *, tracer_provider: TracerProvider) -> None:
        self.app = app
        self.tracer = tracer_provider.get_tracer("matyan_api")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope = dict(scope)
        method = scope.get("method", "GET")
        recorder = _StatusRecorder(send)
        with self.tracer.start_as_current_span(
            f"{method} {scope.get('path', '/')}",
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": scope.get("path", "/")},
            record_exception=True,
            set_status_on_exception=True,
        ) as span:
            try:
                await self.app(scope, receive, recorder)
            finally:
                template = route_template(scope)
                span.update_name(f"{method} {template}")
                span.set_attribute("http.route", template)
                span.set_attribute("http.response.status_code", recorder.status)
                if recorder.status >= 500:
                    span.set_status(Status(StatusCode.ERROR))


class BodyTimeoutMiddleware:
    """A request body must have arrived ``timeout_s`` seconds after the request did: else a 408.

    granian bounds the time to read headers but not a body, so a client could trickle one byte at a
    time and hold its request (and a connection permit) for as long as it likes (docs/configuration.md,
    HTTP limits). The deadline covers the whole body; ``receive`` after the body (the wait for a
    disconnect) is not timed. ``timeout_s <= 0`` turns it off.
    """

    def __init__(self, app: ASGIApp, timeout_s: float) -> None:
        self.app = app
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.timeout_s <= 0:
            await self.app(scope, receive, send)
            return
        deadline = asyncio.get_running_loop().time() + self.timeout_s
        body_done = False

        async def timed_receive() -> Message:
            nonlocal body_done
            if body_done:
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise HTTPException(408, "The request body did not arrive in time") from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        await self.app(scope, timed_receive, send)
