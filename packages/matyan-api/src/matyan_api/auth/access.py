"""Which credential a request needs: :func:`required_access` maps a method and a path to a need.

- ``"open"``: health probes, Prometheus metrics, the UI's static bundle, the login page, the API docs;
- ``"ui"``: a page of the web UI (a signed-in browser session, else a redirect to the login page);
- a scope: every other ``/api/`` request. Reads (``GET``/``HEAD`` and the ``POST`` searches and batch
  reads the UI sends) need ``read``; every other change needs ``write``; ``/api/v1/auth/`` admin
  routes need ``admin``.

Paths are already normalised (one trailing slash; see ``matyan_api.middleware``).
"""

from __future__ import annotations

from typing import Final, Literal

from matyan_store.tokens import Scope

__all__ = ["ADMIN_PREFIX", "LOGIN_PATH", "LOGOUT_PATH", "REFRESH_PATH", "Access", "required_access"]

Access = Literal["open", "ui"] | Scope

LOGIN_PATH: Final = "/login/"
LOGOUT_PATH: Final = "/logout/"
# The released UI calls this after a 401 and then reloads the page (see docs/http-contract.md).
REFRESH_PATH: Final = "/api/auth/refresh/"
ADMIN_PREFIX: Final = "/api/v1/auth/tokens/"
_OPEN_PREFIXES: Final = ("/health/", "/static-files/", LOGIN_PATH, LOGOUT_PATH, REFRESH_PATH)
_DOCS: Final = frozenset({"/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"})
_READ_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
# POST routes that only read: batch and step reads of sequences, metric alignment.
_READ_POST_SUFFIXES: Final = ("/get-batch/", "/get-step/", "/search/metric/align/")


def required_access(method: str, path: str, *, html_navigation: bool) -> Access:
    """What ``method path`` needs; ``html_navigation``: a browser asks for a page (``Accept: text/html``)."""
    method = method.upper()
    if path.startswith(_OPEN_PREFIXES) or path in _DOCS:
        return "open"
    if path.startswith("/api/"):
        if path.startswith(ADMIN_PREFIX):
            return "admin"
        if method in _READ_METHODS or (method == "POST" and path.endswith(_READ_POST_SUFFIXES)):
            return "read"
        return "write"
    if path.startswith("/metrics/") and not html_navigation:
        # Prometheus scrapes without credentials; a browser opening /metrics gets the UI's explorer.
        return "open"
    return "ui"
