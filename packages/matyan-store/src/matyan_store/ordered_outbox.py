"""An ordered outbox: per-subject queues of side effects, kept in the order they were recorded.

Like :mod:`matyan_store.outbox`, an entry is recorded in the same transaction as the write that makes
it necessary, performed after the commit and cleared once done. Unlike it, entries are never replaced:
each recording appends to the queue of its *subject* (a run, a tag, ...), so that a consumer sees the
events of one subject in the order their writes committed (an archive and then an unarchive of a run
must not arrive the other way round). Whoever performs the entries goes through a subject's queue from
its head and stops at the first one it cannot perform.

The sequence number of a new entry is one more than the last pending entry of its subject (0 for an
empty queue). Reading that last entry puts the subject's queue in the transaction's read set, so two
concurrent recordings for one subject conflict and are serialized by the engine. A sequence number can
be reused once its queue emptied; :func:`clear` is therefore told the entry's recording time, so a
drainer holding a stale listing never clears a newer entry.

Layout: ``SYSTEM / ("outbox_ordered", kind, subject, seq) -> {"payload": ..., "recorded_at": float}``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from matyan_store.engine.base import ReadTransaction, Transaction
from matyan_store.keys import SYSTEM, Subspace
from matyan_store.values import decode_value, encode_value

__all__ = ["OrderedEntry", "append", "clear", "head", "list_entries"]

_ORDERED = SYSTEM[("outbox_ordered",)]


@dataclass(frozen=True, slots=True)
class OrderedEntry:
    """One recorded side effect: the ``seq``-th pending one of ``subject`` within ``kind``."""

    kind: str
    subject: str
    seq: int
    payload: dict[str, Any] = field(default_factory=dict)
    recorded_at: float = 0.0


def _kind(kind: str) -> Subspace:
    return _ORDERED[(kind,)]


def _decode(kind: str, subject: str, seq: int, raw: bytes) -> OrderedEntry:
    fields = decode_value(raw)
    payload = fields.get("payload") if isinstance(fields, dict) else None
    recorded = fields.get("recorded_at") if isinstance(fields, dict) else None
    return OrderedEntry(
        kind=kind,
        subject=subject,
        seq=seq,
        payload=dict(payload) if isinstance(payload, dict) else {},
        recorded_at=float(recorded) if isinstance(recorded, int | float) else 0.0,
    )


def _subject_range(kind: str, subject: str) -> tuple[bytes, bytes]:
    return _kind(kind).range((subject,))


def append(
    tr: Transaction, kind: str, subject: str, payload: dict[str, Any], *, at: float | None = None
) -> OrderedEntry:
    """Append an entry to ``subject``'s queue in ``tr``; ``at`` defaults to now (unix seconds)."""
    if not isinstance(subject, str) or not subject:
        raise ValueError(f"outbox subject must be a non-empty string, got {subject!r}")
    begin, end = _subject_range(kind, subject)
    last = list(tr.get_range(begin, end, limit=1, reverse=True))
    seq = _kind(kind).unpack(last[0][0])[1] + 1 if last else 0
    entry = OrderedEntry(kind, subject, seq, dict(payload), time.time() if at is None else float(at))
    value = {"payload": entry.payload, "recorded_at": entry.recorded_at}
    tr.set(_kind(kind).pack((subject, seq)), encode_value(value))
    return entry


def head(tr: ReadTransaction, kind: str, subject: str) -> OrderedEntry | None:
    """The first pending entry of ``subject``'s queue, or ``None`` when it is empty."""
    begin, end = _subject_range(kind, subject)
    for key, raw in tr.get_range(begin, end, limit=1):
        _, seq = _kind(kind).unpack(key)
        return _decode(kind, subject, seq, raw)
    return None


def list_entries(tr: ReadTransaction, kind: str, *, limit: int = 0) -> list[OrderedEntry]:
    """The pending entries of ``kind`` by subject, each subject's in queue order; ``limit`` 0 means all."""
    sub = _kind(kind)
    begin, end = sub.range()
    out: list[OrderedEntry] = []
    for key, raw in tr.get_range(begin, end, limit=limit):
        subject, seq = sub.unpack(key)
        out.append(_decode(kind, subject, seq, raw))
    return out


def clear(tr: Transaction, entry: OrderedEntry) -> bool:
    """Remove ``entry`` if it is still pending as recorded (same time); returns whether it was removed."""
    key = _kind(entry.kind).pack((entry.subject, entry.seq))
    raw = tr.get(key)
    if raw is None or _decode(entry.kind, entry.subject, entry.seq, raw).recorded_at != entry.recorded_at:
        return False
    tr.clear(key)
    return True
