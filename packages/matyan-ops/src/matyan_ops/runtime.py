"""What every ops job shares: exit codes, opening the store and blob store, output, progress bars."""

from __future__ import annotations

import json
import os
import socket
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from matyan_store.blobs import SyncBlobStore, open_sync_blob_store
from matyan_store.engine import Engine, open_engine

EXIT_OK = 0
EXIT_FAILURE = 1
"""The job failed, or could not take its lock: a scheduler may retry later."""
EXIT_USAGE = 2
"""Bad options or input: retrying the same command will not help."""

# Pages of runs per transaction: far under the engines' 5 s / 10 MB limits for ordinary runs.
RUN_PAGE = 100


class UsageError(Exception):
    """Bad command-line input (exit code 2)."""


class JobFailed(Exception):  # noqa: N818 (reads as a statement, like the store's RunNotFound)
    """The job could not do its work (exit code 1)."""


def open_store_engine() -> Engine:
    """The engine named by MATYAN_STORE_ENGINE / MATYAN_LMDB_DIR / FDB_CLUSTER_FILE."""
    return open_engine()


def open_blobs() -> SyncBlobStore:
    """The blob store named by BLOB_BACKEND_TYPE and its variables (blocking API)."""
    return open_sync_blob_store()


def owner_token(job: str) -> str:
    """A lock owner unique to this process: host, pid and a random part."""
    return f"{job}@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


class Output:
    """Human text on stdout (or stderr when ``--json`` owns stdout), JSON summary at the end."""

    def __init__(self, json_mode: bool, quiet_progress: bool | None = None) -> None:
        self.json_mode = json_mode
        self.console = Console(stderr=json_mode, highlight=False, soft_wrap=True)
        # Progress bars only on a terminal: logs of scheduled jobs stay readable.
        self.show_progress = self.console.is_terminal if quiet_progress is None else not quiet_progress

    def say(self, text: str) -> None:
        """One line of human-readable output."""
        self.console.print(text, markup=False)

    def error(self, text: str) -> None:
        """One line on stderr."""
        print(text, file=sys.stderr)

    def summary(self, data: dict[str, Any]) -> None:
        """Print the JSON summary (only with ``--json``)."""
        if self.json_mode:
            sys.stdout.write(json.dumps(data, sort_keys=True, default=str) + "\n")
            sys.stdout.flush()

    @contextmanager
    def progress(self, label: str, total: float | None) -> Iterator[ProgressTask]:
        """A rich progress bar for ``label`` (a no-op off a terminal)."""
        if not self.show_progress:
            yield ProgressTask(None, 0)
            return
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        ) as bar:
            yield ProgressTask(bar, bar.add_task(label, total=total))


class ProgressTask:
    """One bar's handle; advancing a missing bar does nothing."""

    def __init__(self, bar: Progress | None, task_id: Any) -> None:
        self._bar = bar
        self._task_id = task_id

    def advance(self, amount: float = 1) -> None:
        """Move the bar forward."""
        if self._bar is not None:
            self._bar.advance(self._task_id, amount)

    def update(self, *, completed: float | None = None, total: float | None = None) -> None:
        """Set the bar's position or total."""
        if self._bar is not None:
            self._bar.update(self._task_id, completed=completed, total=total)
