"""Deleting a run's series in bounded slices."""

from __future__ import annotations

from matyan_store.engine.base import Transaction
from matyan_store.keys import strinc
from matyan_store.sequences import layout


def delete_run_series(tr: Transaction, run_id: str, max_bytes: int) -> bool:
    """Clear a run's series, about ``max_bytes`` of stored keys and values per call; True once none are left.

    Keys go in key order: block data first, series summaries last, so a run being deleted shows its
    series (possibly truncated) until the very end. Call it in a fresh transaction until it returns
    True; each call reads and clears a bounded amount, whatever the run's size.
    """
    if max_bytes < 1:
        raise ValueError("max_bytes must be positive")
    begin, end = layout.run_prefix(run_id), strinc(layout.run_prefix(run_id))
    total = 0
    last: bytes | None = None
    for k, v in tr.get_range(begin, end):
        if total >= max_bytes:
            assert last is not None
            tr.clear_range(begin, last + b"\x00")
            return False
        total += len(k) + len(v)
        last = k
    if last is not None:
        tr.clear_range(begin, end)
    return True
