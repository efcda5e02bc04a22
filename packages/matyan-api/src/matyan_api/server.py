"""Serve the API with granian (``matyan-backend start``).

The HTTP limits (docs/configuration.md, HTTP limits) keep slow clients from starving the others:

- ``HTTP_HEADER_TIMEOUT_S``: granian closes a connection whose request headers are not complete in
  that time, however they trickle in;
- ``HTTP_MAX_CONNECTIONS``: connections one worker serves at once (granian's backpressure, which
  holds a permit per open connection; the default, backlog / workers, is what 1,024 trickling
  clients used up). Further connections wait in the listen backlog (``HTTP_BACKLOG``);
- ``HTTP_BODY_TIMEOUT_S`` has no granian option: :class:`matyan_api.middleware.BodyTimeoutMiddleware`
  answers 408 in the app.

The open-files limit is raised to its hard limit (enough for the connections), so the cap, not
``EMFILE``, is what stops a flood.
"""

from __future__ import annotations

import importlib.util
import resource
import sys
from typing import Final

from fastapi import FastAPI
from granian import Granian
from granian.constants import Interfaces
from granian.http import HTTP1Settings
from granian.log import LogLevels

from matyan_api.settings import ApiSettings
from matyan_store.log_setup import configure_logging

__all__ = ["APP_FACTORY", "serve", "served_app", "ui_available"]

APP_FACTORY: Final = "matyan_api.server:served_app"
# How long a worker may take to finish in-flight requests after SIGTERM before it is killed.
WORKER_KILL_TIMEOUT_S: Final = 30
# Descriptors a worker needs besides its client connections (store, blobs, Kafka, logs, ...).
_SPARE_FILES: Final = 256


def served_app() -> FastAPI:
    """The app as granian serves it, in each worker process: logging set up from the settings first."""
    from matyan_api.app import create_app

    settings = ApiSettings()
    configure_logging(settings.log_level, environment=settings.store.environment)
    return create_app(settings)


def ui_available() -> bool:
    """Whether the ``matyan_ui`` package (the web UI) is installed."""
    return importlib.util.find_spec("matyan_ui") is not None


def _log_level(name: str) -> LogLevels:
    try:
        return LogLevels(name.strip().lower())
    except ValueError:
        return LogLevels.info


def _connection_cap(wanted: int) -> int:
    """Raise the open-files soft limit towards ``wanted`` connections; the cap the limit allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted + _SPARE_FILES
    if soft != resource.RLIM_INFINITY and soft < target:
        new_soft = target if hard == resource.RLIM_INFINITY else min(target, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new_soft, hard))
        soft = new_soft
    if soft == resource.RLIM_INFINITY or soft >= target:
        return wanted
    cap = max(1, soft - _SPARE_FILES)
    print(
        f"matyan-backend: the open-files limit ({soft}) allows {cap} connections per worker, "
        f"not HTTP_MAX_CONNECTIONS={wanted}",
        file=sys.stderr,
    )
    return cap


def serve(*, host: str, port: int, workers: int, settings: ApiSettings) -> None:
    """Run granian on ``host:port`` with ``workers`` processes until SIGINT/SIGTERM (graceful)."""
    print(
        f"matyan-backend: serving the API on http://{host}:{port} with {workers} worker(s)", file=sys.stderr
    )
    Granian(
        APP_FACTORY,
        factory=True,
        address=host,
        port=port,
        workers=workers,
        interface=Interfaces.ASGI,
        log_level=_log_level(settings.log_level),
        workers_kill_timeout=WORKER_KILL_TIMEOUT_S,
        backlog=settings.http_backlog,
        backpressure=_connection_cap(settings.http_max_connections),
        http1_settings=HTTP1Settings(header_read_timeout=int(settings.http_header_timeout_s * 1000)),
    ).serve()
