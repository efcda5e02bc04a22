"""Activity maps: runs counted per day or hour of their creation, in the client's time zone."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Final

__all__ = ["DAY_FORMAT", "HOUR_FORMAT", "activity_bucket", "activity_map"]

DAY_FORMAT: Final = "%Y-%m-%dT00:00:00"
HOUR_FORMAT: Final = "%Y-%m-%dT%H:00:00"


def activity_bucket(created_at: float, offset_minutes: int, fmt: str) -> str:
    """The bucket label of a run created at ``created_at`` (epoch seconds).

    ``offset_minutes`` follows JavaScript's ``getTimezoneOffset()`` (UTC+3 sends -180), so the local
    time is ``created_at - offset * 60``, formatted as if it were UTC.
    """
    local = created_at - offset_minutes * 60
    try:
        return datetime.fromtimestamp(local, UTC).strftime(fmt)
    except (OverflowError, OSError, ValueError):
        # A nonsense offset or timestamp must not fail the whole map.
        return datetime.fromtimestamp(0, UTC).strftime(fmt)


def activity_map(created: Iterable[float], offset_minutes: int, fmt: str) -> dict[str, int]:
    """Counts per bucket, buckets in chronological order."""
    counts = Counter(activity_bucket(ts, offset_minutes, fmt) for ts in created)
    return dict(sorted(counts.items()))
