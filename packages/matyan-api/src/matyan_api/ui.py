"""Serving the released web UI (the ``matyan_ui`` package's built bundle) from the API's own origin.

The bundle's ``index-template.html`` carries four Jinja placeholders (docs/http-contract.md, The web UI).
The UI builds its API root as ``API_HOST_BASE + API_BASE_PATH_SUFFIX + "/rest"`` and needs an absolute
host base (an empty one falls back to ``http://localhost:53800``), so instead of baking one host in, the
page assigns ``window.location.origin``: whatever name the browser used to reach us (a proxy, a port
forward) is where the API lives. ``MATYAN_UI_API_HOST_BASE`` (``ApiSettings.matyan_ui_api_host_base``)
overrides that with a fixed URL.

Routes (added after every API route, so they never shadow ``/api``, ``/health``, docs):

- ``GET /static-files/{path}``: a file of the bundle, its ``.gz`` twin when the client accepts gzip;
- ``GET /{anything else}``: the rendered index page (the SPA's client-side routes).

One UI route clashes with an API route: ``/metrics`` is the UI's metrics explorer and our Prometheus
endpoint. :class:`UiPageMiddleware` negotiates on ``Accept``: a browser navigation (``text/html``) gets
the UI, a scraper (``text/plain``, ``*/*``, nothing) keeps the exposition format. The UI's
``/metrics/:appId`` has no API twin and is served by the catch-all.
"""

from __future__ import annotations

import functools
import json
import mimetypes
from pathlib import Path
from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from matyan_api.errors import ApiError

__all__ = [
    "SERVE_UI_ENV",
    "UiPageMiddleware",
    "render_index",
    "ui_router",
    "ui_static_root",
    "wants_page",
]

# ``ApiSettings.matyan_serve_ui``'s variable: ``start --ui`` sets it for granian's workers.
SERVE_UI_ENV: Final = "MATYAN_SERVE_UI"
API_BASE_PATH_SUFFIX: Final = "/api/v1"
# Paths the API owns: never answered with the index page (an unknown API path stays an enveloped 404).
_API_PREFIXES: Final = ("/api/", "/health/", "/docs", "/redoc", "/openapi.json")
# API paths that are UI routes too: a browser navigation gets the UI there.
_NEGOTIATED_PATHS: Final = frozenset({"/metrics/"})
_HOST_BASE_TEMPLATE: Final = 'window.API_HOST_BASE="{{ api_host_base }}"'


def ui_static_root() -> Path | None:
    """The bundle directory of the installed ``matyan_ui`` package, or ``None`` when it is missing."""
    try:
        import matyan_ui
    except ImportError:
        return None
    root = Path(matyan_ui.__file__).parent / "static"
    return root if (root / "index-template.html").is_file() else None


def _js_string(value: str) -> str:
    # JSON is a valid JS string literal; escaping "<" keeps "</script>" from closing the tag early.
    return json.dumps(value).replace("<", "\\u003c")


def render_index(template: str, *, host_base: str | None = None) -> str:
    """The index page: placeholders filled, the API host base set to the page's origin (or ``host_base``)."""
    if host_base:
        host_expr = f"window.API_HOST_BASE={_js_string(host_base)}"
    else:
        host_expr = "window.API_HOST_BASE=window.location.origin"
    page = template.replace(_HOST_BASE_TEMPLATE, host_expr)
    # Served at the root (base path ""), talking to /api/v1; no token (the UI never needs one here).
    for placeholder, value in (
        ("{{ base_path }}", ""),
        ("{{ api_base_path }}", API_BASE_PATH_SUFFIX),
        ("{{ api_auth_token }}", ""),
        ("{{ api_host_base }}", (host_base or "").replace('"', "")),
    ):
        page = page.replace(placeholder, value)
    return page


@functools.cache
def _index_html(root: Path, host_base: str | None) -> str:
    return render_index((root / "index-template.html").read_text(encoding="utf-8"), host_base=host_base)


def wants_page(method: str, headers: Headers) -> bool:
    """Whether a request is a browser navigation asking for a page (``GET`` accepting ``text/html``)."""
    return method.upper() in ("GET", "HEAD") and "text/html" in headers.get("accept", "")


class UiPageMiddleware:
    """Answer a browser navigation to an API path that is also a UI route with the UI's index page."""

    def __init__(self, app: ASGIApp, *, root: Path, host_base: str | None) -> None:
        self.app = app
        self.root = root
        self.host_base = host_base

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope.get("path") in _NEGOTIATED_PATHS
            and wants_page(str(scope.get("method", "GET")), Headers(scope=scope))
        ):
            page = HTMLResponse(_index_html(self.root, self.host_base), headers={"Vary": "Accept"})
            await page(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _bundle_file(root: Path, rel: str) -> Path | None:
    """The bundle file at ``rel`` (no escaping the bundle, no directories), or ``None``."""
    rel = rel.strip("/")
    if not rel:
        return None
    target = (root / rel).resolve()
    if not target.is_relative_to(root.resolve()) or not target.is_file():
        return None
    return target


def ui_router(root: Path, *, host_base: str | None) -> APIRouter:
    """The UI's routes over the bundle at ``root``; include it after every API router.

    ``host_base`` is the page's fixed API host base; ``None`` makes the page use its own origin.
    """
    router = APIRouter(include_in_schema=False)

    @router.get("/static-files/{path:path}")
    async def static_file(path: str, request: Request) -> Response:
        target = _bundle_file(root, path)
        if target is None:
            raise ApiError(404)
        media_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        gz = target.with_name(target.name + ".gz")
        if "gzip" in request.headers.get("accept-encoding", "") and gz.is_file():
            return FileResponse(
                gz, media_type=media_type, headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
            )
        return FileResponse(target, media_type=media_type)

    @router.get("/{path:path}")
    async def index_page(path: str) -> Response:
        if any(f"/{path}".startswith(prefix) for prefix in _API_PREFIXES):
            raise ApiError(404)
        return HTMLResponse(_index_html(root, host_base))

    return router
