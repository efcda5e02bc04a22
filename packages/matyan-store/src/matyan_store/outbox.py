"""A keyed outbox: side effects recorded in the transaction that makes them necessary.

A process that must tell someone else about a write (publish a Kafka message, ...) records an entry
here in the same transaction as the write. After the commit it performs the side effect and clears the
entry; anything that crashed or failed in between is found again by listing the outbox. Delivery is
therefore at least once: consumers of what is published must tolerate duplicates.

An entry is addressed by a ``kind`` (who owns it: ``"run_deleted"`` for the ingest worker,
``"delete_run"`` for the API, ...) and a ``key`` within the kind (a run id). Recording the same kind and
key again replaces the entry. Each entry carries a JSON-like ``payload`` and the time it was recorded;
:func:`clear` can be told that time so a drainer never clears a newer entry recorded while it was
publishing the older one.

Layout: ``SYSTEM / ("outbox", kind, key) -> {"payload": ..., "recorded_at": float}``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from matyan_store.engine.base import ReadTransaction, Transaction
from matyan_store.keys import SYSTEM, Subspace
from matyan_store.values import decode_value, encode_value

__all__ = ["OutboxEntry", "clear", "get", "list_entries", "record"]

_OUTBOX = SYSTEM[("outbox",)]


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """One recorded side effect still to be performed."""

    kind: str
    key: str
    payload: dict[str, Any] = field(default_factory=dict)
    recorded_at: float = 0.0


def _kind(kind: str) -> Subspace:
    return _OUTBOX[(kind,)]


def _decode(kind: str, key: str, raw: bytes) -> OutboxEntry:
    fields = decode_value(raw)
    payload = fields.get("payload") if isinstance(fields, dict) else None
    recorded = fields.get("recorded_at") if isinstance(fields, dict) else None
    return OutboxEntry(
        kind=kind,
        key=key,
        payload=dict(payload) if isinstance(payload, dict) else {},
        recorded_at=float(recorded) if isinstance(recorded, int | float) else 0.0,
    )


def record(
    tr: Transaction, kind: str, key: str, payload: dict[str, Any] | None = None, *, at: float | None = None
) -> OutboxEntry:
    """Record (or replace) the entry ``kind``/``key`` in ``tr``; ``at`` defaults to now (unix seconds)."""
    entry = OutboxEntry(kind, key, dict(payload or {}), time.time() if at is None else float(at))
    value = {"payload": entry.payload, "recorded_at": entry.recorded_at}
    tr.set(_kind(kind).pack((key,)), encode_value(value))
    return entry


def get(tr: ReadTransaction, kind: str, key: str) -> OutboxEntry | None:
    """The entry ``kind``/``key``, or ``None`` (one point read)."""
    raw = tr.get(_kind(kind).pack((key,)))
    return None if raw is None else _decode(kind, key, raw)


def list_entries(
    tr: ReadTransaction, kind: str, *, limit: int = 0, after: str | None = None
) -> list[OutboxEntry]:
    """The entries of ``kind`` in key order, starting after key ``after``; ``limit`` 0 means all."""
    sub = _kind(kind)
    begin, end = sub.range()
    if after is not None:
        begin = sub.pack((after,)) + b"\x00"
    return [_decode(kind, sub.unpack(k)[0], v) for k, v in tr.get_range(begin, end, limit=limit)]


def clear(tr: Transaction, kind: str, key: str, *, recorded_at: float | None = None) -> bool:
    """Remove the entry ``kind``/``key``; returns whether one was removed.

    With ``recorded_at`` the entry is removed only if it is still the one recorded at that time, so an
    entry recorded again meanwhile (the side effect is needed once more) stays.
    """
    k = _kind(kind).pack((key,))
    raw = tr.get(k)
    if raw is None:
        return False
    if recorded_at is not None and _decode(kind, key, raw).recorded_at != recorded_at:
        return False
    tr.clear(k)
    return True
