"""The `matyan-backend` command, assembled from the installed workspace packages.

Each package contributes its commands through the `matyan_backend.commands` entry-point group: the
entry point names a `register(app)` function that adds commands to the cyclopts app. The API image
therefore carries only the API's commands; a command whose package is missing still appears in
`--help` and, when run, says which package provides it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, entry_points, version

import cyclopts

ENTRY_POINT_GROUP = "matyan_backend.commands"

# Which distribution provides each command; used to explain a command that is not installed.
COMMAND_PROVIDERS: dict[str, str] = {
    "start": "matyan-api",
    "ingest-worker": "matyan-workers",
    "control-worker": "matyan-workers",
    "reindex": "matyan-ops",
    "backup": "matyan-ops",
    "restore": "matyan-ops",
    "finish-stale": "matyan-ops",
    "cleanup-orphan-blobs": "matyan-ops",
    "cleanup-tombstones": "matyan-ops",
    "convert": "matyan-ops",
    "dead-letters": "matyan-ops",
    "tokens": "matyan-ops",
    "offsets": "matyan-ops",
}

MISSING_COMMAND_EXIT_CODE = 3


def _is_installed(distribution: str) -> bool:
    try:
        version(distribution)
    except PackageNotFoundError:
        return False
    return True


def _missing_command(name: str, provider: str) -> Callable[..., int]:
    if _is_installed(provider):
        reason = f"the installed {provider} {version(provider)} does not provide it yet"
    else:
        reason = f"it is provided by the {provider} package, which is not installed here"

    def run(*_args: str) -> int:
        print(f"matyan-backend {name}: not available: {reason}.", file=sys.stderr)
        return MISSING_COMMAND_EXIT_CODE

    run.__doc__ = f"Not available: {reason}."
    return run


def build_app() -> cyclopts.App:
    """Build the CLI from every installed package's command contributions."""
    app = cyclopts.App(
        name="matyan-backend",
        help="Matyan backend: API server, Kafka workers and ops jobs.",
        version_flags=[],
    )
    for entry_point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name):
        register: Callable[[cyclopts.App], None] = entry_point.load()
        register(app)
    for name, provider in COMMAND_PROVIDERS.items():
        if name not in app:
            app.command(_missing_command(name, provider), name=name)
    return app


def main() -> None:
    """Console entry point of `matyan-backend`."""
    app = build_app()
    argv = sys.argv[1:]
    if not argv or argv[0].startswith("-"):
        # Commands registered by import path are imported when they run; the overview lists each one's
        # summary, so it imports them all.
        app.resolved_commands()
    result = app(argv)
    if isinstance(result, int):
        sys.exit(result)
