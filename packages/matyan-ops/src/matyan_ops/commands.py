"""Commands that matyan-ops contributes to `matyan-backend`."""

from __future__ import annotations

import json
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated

import cyclopts

WORKSPACE_PACKAGES = ("matyan-models", "matyan-store", "matyan-api", "matyan-workers", "matyan-ops")


def installed_versions() -> dict[str, str | None]:
    """Version of every workspace package, None for the ones not installed."""
    found: dict[str, str | None] = {}
    for dist in WORKSPACE_PACKAGES:
        try:
            found[dist] = version(dist)
        except PackageNotFoundError:
            found[dist] = None
    return found


def version_command(*, json_output: Annotated[bool, cyclopts.Parameter(name="--json")] = False) -> None:
    """Print the version of every installed workspace package.

    Parameters
    ----------
    json_output
        Print one JSON object instead of a table.
    """
    versions = installed_versions()
    if json_output:
        print(json.dumps(versions, sort_keys=True))
        return
    width = max(len(name) for name in versions)
    for name, ver in versions.items():
        print(f"{name:<{width}}  {ver or 'not installed'}")


def register(app: cyclopts.App) -> None:
    """Add the ops package's commands to the CLI."""
    from matyan_ops.dead_letters import dead_letters_app
    from matyan_ops.offsets_command import offsets_app
    from matyan_ops.ops_commands import register_ops_commands

    app.command(version_command, name="version")
    register_ops_commands(app)
    app.command(dead_letters_app)
    app.command(offsets_app)
