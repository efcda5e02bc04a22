"""Helpers shared by the JSON run routes: existence checks and JSON-safe numbers."""

from __future__ import annotations

import math
from typing import Any

from matyan_api.errors import ApiError
from matyan_store.engine import ReadTransaction
from matyan_store.runs import RunMeta, get_run

__all__ = [
    "json_number",
    "require_run",
]


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
