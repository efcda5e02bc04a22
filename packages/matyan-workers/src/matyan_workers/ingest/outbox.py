"""Deletions and ``run_deleted`` events that must outlive a crash (an outbox in the store).

A ``delete_run`` message is applied in the transaction that stores its offset: that transaction writes
the tombstone, starts the bounded data deletion and records an outbox entry here carrying the event's
payload (the run's blob keys, read before the data goes). After the commit the worker finishes the
deletion in fresh transactions, publishes the event and clears the entry once the broker acknowledged
it. A worker that crashes anywhere in between finds the entry on its next start and carries on; the
control worker tolerates the duplicate event that may result.

Should move to the store (``matyan_store.outbox``): the API's ``delete_run`` outbox needs the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from matyan_store.engine.base import ReadTransaction, Transaction
from matyan_store.keys import SYSTEM
from matyan_store.values import decode_value, encode_value

__all__ = ["PendingDeletion", "clear_pending", "get_pending", "list_pending", "put_pending"]

_OUTBOX = SYSTEM[("workers", "run_deleted_outbox")]


@dataclass(frozen=True, slots=True)
class PendingDeletion:
    """A run whose deletion or ``run_deleted`` event is not finished yet."""

    run_id: str
    blob_keys: list[str] = field(default_factory=list)
    data_deleted: bool = False
    recorded_at: float = 0.0

    def event_payload(self) -> dict[str, Any]:
        """The ``run_deleted`` payload: the run id and, when known, the blob keys to delete."""
        payload: dict[str, Any] = {"run_id": self.run_id}
        if self.blob_keys:
            payload["blob_keys"] = list(self.blob_keys)
        return payload


def put_pending(tr: Transaction, entry: PendingDeletion) -> None:
    """Record (or update) the run's pending deletion."""
    tr.set(
        _OUTBOX.pack((entry.run_id,)),
        encode_value(
            {
                "blob_keys": list(entry.blob_keys),
                "data_deleted": entry.data_deleted,
                "recorded_at": entry.recorded_at,
            }
        ),
    )


def _decode(run_id: str, raw: bytes) -> PendingDeletion:
    fields = decode_value(raw)
    return PendingDeletion(
        run_id=run_id,
        blob_keys=[str(k) for k in fields.get("blob_keys") or []],
        data_deleted=bool(fields.get("data_deleted")),
        recorded_at=float(fields.get("recorded_at") or 0.0),
    )


def get_pending(tr: ReadTransaction, run_id: str) -> PendingDeletion | None:
    """The run's pending deletion, if any."""
    raw = tr.get(_OUTBOX.pack((run_id,)))
    return None if raw is None else _decode(run_id, raw)


def list_pending(tr: ReadTransaction, limit: int = 0) -> list[PendingDeletion]:
    """Pending deletions in run id order (``limit`` 0: all)."""
    begin, end = _OUTBOX.range()
    return [_decode(_OUTBOX.unpack(k)[0], v) for k, v in tr.get_range(begin, end, limit=limit)]


def clear_pending(tr: Transaction, run_id: str) -> None:
    """Forget the run's pending deletion (its event was acknowledged)."""
    tr.clear(_OUTBOX.pack((run_id,)))
