"""Serve the API with granian (``matyan-backend start``)."""

from __future__ import annotations

import importlib.util
import sys
from typing import Final

from granian import Granian
from granian.constants import Interfaces
from granian.log import LogLevels

__all__ = ["APP_FACTORY", "serve", "ui_available"]

APP_FACTORY: Final = "matyan_api.app:create_app"
# How long a worker may take to finish in-flight requests after SIGTERM before it is killed.
WORKER_KILL_TIMEOUT_S: Final = 30


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
