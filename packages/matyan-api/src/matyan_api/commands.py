"""Commands that matyan-api contributes to ``matyan-backend``: ``start``."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import cyclopts
from cyclopts import Parameter

from matyan_api.auth.settings import AuthSettings
from matyan_api.settings import ApiSettings, check_api_production
from matyan_store.settings import ProductionSettingsError

__all__ = ["register", "start"]

PRODUCTION_CHECK_EXIT_CODE = 2
_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


def start(
    *,
    host: str = "0.0.0.0",
    port: int = 53800,
    workers: Annotated[int, Parameter(validator=lambda _t, v: _positive(v))] = 1,
    ui: Annotated[bool, Parameter(negative="--no-ui")] = False,
) -> int:
    """Serve the HTTP API with granian.

    Parameters
    ----------
    host
        Address to bind.
    port
        Port to bind.
    workers
        Number of worker processes.
    ui
        Also serve the web UI (needs the matyan_ui package).
    """
    settings = ApiSettings()
    auth = AuthSettings()
    try:
        check_api_production(settings, auth)
    except ProductionSettingsError as exc:
        print(f"matyan-backend start: {exc}", file=sys.stderr)
        return PRODUCTION_CHECK_EXIT_CODE
    if not auth.enabled and host not in _LOOPBACK:
        print(
            f"matyan-backend start: authentication is off (MATYAN_AUTH) and {host} is not a loopback "
            "address: anyone who can reach this port can read and delete every run",
            file=sys.stderr,
        )
    from matyan_api.server import serve, ui_available
    from matyan_api.ui import SERVE_UI_ENV

    if ui:
        if ui_available():
            # Read by create_app in every granian worker (they inherit the environment).
            os.environ[SERVE_UI_ENV] = "true"
            shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
            print(f"matyan-backend start: serving the UI on http://{shown}:{port}/", file=sys.stderr)
        else:
            print(
                "matyan-backend start: --ui: the matyan_ui package is not installed; serving the API only.",
                file=sys.stderr,
            )
    serve(host=host, port=port, workers=workers, settings=settings)
    return 0


def _positive(value: int) -> None:
    if value < 1:
        raise ValueError("must be at least 1")


def register(app: cyclopts.App) -> None:
    """Add ``start`` to the ``matyan-backend`` CLI."""
    app.command(start, name="start")
