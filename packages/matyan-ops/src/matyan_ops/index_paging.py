"""Paging through one index value's runs in bounded transactions.

``matyan_store.indexes.lookup`` has a limit but no cursor; this adds ``after``. It reads the index
subspace's documented layout ``(field, value, run_id)``. Should move to the store.
"""

from __future__ import annotations

from typing import Any

from matyan_store.engine import ReadTransaction
from matyan_store.keys import INDEXES


def lookup_page(tr: ReadTransaction, field: str, value: Any, *, after: str | None, limit: int) -> list[str]:
    """Run ids with ``field == value`` in id order, starting after ``after``, at most ``limit``."""
    begin, end = INDEXES.range((field, value))
    if after is not None:
        begin = INDEXES.pack((field, value, after)) + b"\x00"
    if begin >= end:
        return []
    return [INDEXES.unpack(key)[-1] for key, _ in tr.get_range(begin, end, limit=limit)]
