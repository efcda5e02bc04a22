"""Progress frames and heartbeats of the search streams (docs/http-contract.md, Progress frames).

A progress frame is the tree ``{"progress_<i>": (checked, total)}``: an ``ARRAY`` pair and two int
pairs. ``i`` counts every progress frame of one response from 0, heartbeats included. Heartbeats
re-send the latest ``(checked, total)`` under the next key while a slow step produces nothing, so
proxies and the UI see a live connection.
"""

from __future__ import annotations

from typing import Final

from matyan_api.streaming.tree import encode_tree_bytes

__all__ = [
    "PROGRESS_REPORT_INTERVAL",
    "ProgressReporter",
    "is_progress_key",
    "make_progress_key",
    "progress_frame",
]

PROGRESS_REPORT_INTERVAL: Final = 0.5
_PREFIX: Final = "progress"


def make_progress_key(index: int) -> str:
    """The top-level key of the ``index``-th progress frame: ``progress_<index>``."""
    return f"{_PREFIX}_{index}"


def is_progress_key(key: object) -> bool:
    """Whether a decoded top-level key is a progress report (the UI's rule: starts with "progress")."""
    return isinstance(key, str) and key.startswith(_PREFIX)


def progress_frame(index: int, checked: int, total: int) -> bytes:
    """The bytes of progress frame ``index`` reporting ``(checked, total)`` (``total`` 0: unknown)."""
    return encode_tree_bytes((make_progress_key(index),), (int(checked), int(total)))


class ProgressReporter:
    """Numbers the progress frames of one response and remembers the latest pair for heartbeats."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._next_index = 0
        self._last: tuple[int, int] | None = None

    @property
    def frames_sent(self) -> int:
        """How many progress frames (heartbeats included) this reporter has produced."""
        return self._next_index

    @property
    def last(self) -> tuple[int, int] | None:
        """The latest reported ``(checked, total)``, or ``None`` before the first report."""
        return self._last

    def report(self, checked: int, total: int, *, skip_repeat: bool = False) -> bytes:
        """A frame for ``(checked, total)``; ``b""`` when disabled, or a repeat with ``skip_repeat``."""
        pair = (int(checked), int(total))
        if not self.enabled or (skip_repeat and pair == self._last):
            return b""
        self._last = pair
        return self._emit(pair)

    def heartbeat(self) -> bytes:
        """Re-send the latest pair under a new key (``(0, 0)`` before any report); ``b""`` if disabled."""
        if not self.enabled:
            return b""
        return self._emit(self._last or (0, 0))

    def finish(self) -> bytes:
        """The terminal ``(0, 0)`` frame of run, metric and custom search."""
        return self.report(0, 0)

    def _emit(self, pair: tuple[int, int]) -> bytes:
        frame = progress_frame(self._next_index, *pair)
        self._next_index += 1
        return frame
