"""Serve the API with granian (``matyan-backend start``)."""

from __future__ import annotations

import importlib.util
import sys
from typing import Final

from fastapi import FastAPI
from granian import Granian
from granian.constants import Interfaces
from granian.log import LogLevels

from matyan_store.log_setup import configure_logging

__all__ = ["APP_FACTORY", "serve", "served_app", "ui_available"]

APP_FACTORY: Final = "matyan_api.server:served_app"
# How long a worker may take to finish in-flight requests after SIGTERM before it is killed.
WORKER_KILL_TIMEOUT_S: Final = 30


def served_app() -> FastAPI:
    """The app as granian serves it, in each worker process: logging set up from the settings first."""
    from matyan_api.app import create_app
    from matyan_api.settings import ApiSettings

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


def serve(*, host: str, port: int, workers: int, log_level: str = "info") -> None:
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
        log_level=_log_level(log_level),
        workers_kill_timeout=WORKER_KILL_TIMEOUT_S,
    ).serve()
