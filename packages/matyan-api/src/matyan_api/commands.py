"""Commands that matyan-api contributes to `matyan-backend`."""

from __future__ import annotations

import cyclopts


def register(app: cyclopts.App) -> None:
    """Add this package's commands to the CLI; its service commands arrive with their issue."""
    del app
