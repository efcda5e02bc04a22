"""Commands that matyan-ops contributes to `matyan-backend`.

Each is registered by import path: its module (and what it needs: the blob stores, TensorBoard's reader,
the Kafka client, ...) is imported only when that command runs or its help is shown, so every other
command of `matyan-backend` starts without them.
"""

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


# Command name -> "module:attribute" of its function or sub-app.
LAZY_COMMANDS = {
    "reindex": "matyan_ops.ops_commands:reindex_command",
    "backup": "matyan_ops.ops_commands:backup_command",
    "restore": "matyan_ops.ops_commands:restore_command",
    "finish-stale": "matyan_ops.ops_commands:finish_stale_command",
    "cleanup-orphan-blobs": "matyan_ops.ops_commands:cleanup_orphan_blobs_command",
    "cleanup-tombstones": "matyan_ops.ops_commands:cleanup_tombstones_command",
    "convert": "matyan_ops.ops_commands:convert_app",
    "dead-letters": "matyan_ops.dead_letters:dead_letters_app",
    "offsets": "matyan_ops.offsets_command:offsets_app",
}


def register(app: cyclopts.App) -> None:
    """Add the ops package's commands to the CLI."""
    app.command(version_command, name="version")
    for name, target in LAZY_COMMANDS.items():
        app.command(target, name=name)
