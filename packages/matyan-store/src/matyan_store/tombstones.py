"""Tombstones of deleted runs: the deletion time per run id, so late messages for a run are dropped.

A tombstone outlives the run's data; clearing it (a restore, or an operator) lets the id be used again.
"""

from __future__ import annotations

from collections.abc import Iterator

from matyan_store.engine.base import ReadTransaction, Transaction
from matyan_store.keys import TOMBSTONES
from matyan_store.values import decode_value, encode_value

__all__ = ["clear_tombstone", "deleted_at", "is_deleted", "iter_tombstones", "mark_deleted"]


def mark_deleted(tr: Transaction, run_id: str, at: float) -> None:
    """Leave a tombstone for ``run_id`` saying it was deleted at ``at`` (unix seconds)."""
    tr.set(TOMBSTONES.pack((run_id,)), encode_value(float(at)))


def deleted_at(tr: ReadTransaction, run_id: str) -> float | None:
    """When the run was deleted, or ``None`` if it has no tombstone."""
    raw = tr.get(TOMBSTONES.pack((run_id,)))
    if raw is None:
        return None
    try:
        value = decode_value(raw)
    except ValueError:
        return 0.0
    return float(value) if isinstance(value, int | float) else 0.0


def is_deleted(tr: ReadTransaction, run_id: str) -> bool:
    """Whether the run has a tombstone (one point read)."""
    return tr.get(TOMBSTONES.pack((run_id,))) is not None


def clear_tombstone(tr: Transaction, run_id: str) -> bool:
    """Remove the run's tombstone; returns whether there was one."""
    key = TOMBSTONES.pack((run_id,))
    if tr.get(key) is None:
        return False
    tr.clear(key)
    return True


def iter_tombstones(
    tr: ReadTransaction, *, after: str | None = None, limit: int = 0
) -> Iterator[tuple[str, float]]:
    """``(run_id, deleted_at)`` in run id order, resuming after ``after`` (for bounded pages)."""
    begin, end = TOMBSTONES.range(())
    if after is not None:
        begin = TOMBSTONES.pack((after,)) + b"\x00"
    for key, raw in tr.get_range(begin, end, limit=limit):
        (run_id,) = TOMBSTONES.unpack(key)
        try:
            value = decode_value(raw)
        except ValueError:
            value = 0.0
        yield run_id, float(value) if isinstance(value, int | float) else 0.0
