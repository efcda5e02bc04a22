"""Helpers shared by the JSON run routes: existence checks, JSON-safe numbers, trace buckets."""

from __future__ import annotations

import math
from typing import Any, Final

from matyan_api.errors import ApiError
from matyan_store.engine import ReadTransaction
from matyan_store.runs import RunMeta, get_run

__all__ = [
    "HIDDEN_DTYPES",
    "SEQUENCE_BUCKETS",
    "bucket_of_dtype",
    "json_number",
    "require_run",
]

# Bucket of the run info's ``traces`` per stored dtype; any other dtype (float, int, custom, ...) is a
# metric (docs/storage.md, Params catalogue).
_BUCKET_BY_DTYPE: Final[dict[str, str]] = {
    "image": "images",
    "text": "texts",
    "distribution": "distributions",
    "audio": "audios",
    "figure": "figures",
}
# The canonical order of the info's ``traces`` keys.
SEQUENCE_BUCKETS: Final[tuple[str, ...]] = ("metric", "images", "texts", "distributions", "audios", "figures")
# Terminal logs and log records have routes of their own and never show up as traces.
HIDDEN_DTYPES: Final[frozenset[str]] = frozenset({"logs", "log_records"})


def bucket_of_dtype(dtype: str) -> str | None:
    """The ``traces`` bucket of a series' dtype, or ``None`` for the hidden log dtypes."""
    if dtype in HIDDEN_DTYPES:
        return None
    return _BUCKET_BY_DTYPE.get(dtype, "metric")


def json_number(value: Any) -> float | None:
    """``value`` as a float if it is a finite real number, else ``None``.

    Strict JSON has no NaN or infinity (the UI's ``JSON.parse`` rejects them), and a series may hold
    a diverged loss; such points and non-numeric values come out as ``null``.
    """
    if isinstance(value, bool):
        return float(value)
    if not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int beyond the float range
        return None
    return number if math.isfinite(number) else None


def require_run(tr: ReadTransaction, run_id: str) -> RunMeta:
    """The run's meta; a missing run, or one pending deletion, answers 404."""
    meta = get_run(tr, run_id)
    if meta is None:
        raise ApiError(404)
    return meta
