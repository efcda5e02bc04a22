"""After-commit work of ``delete_run``: finish the bounded deletion, then publish ``run_deleted``.

A ``delete_run`` message is applied in the transaction that stores its offset: that transaction writes
the tombstone, starts the bounded data deletion and records a ``run_deleted`` entry in the store's outbox
(:mod:`matyan_store.outbox`) carrying the event's payload (the run's blob keys, read before the data
goes). After the commit both steps here work from that entry, so they resume after a crash: the deletion
continues in fresh transactions until the store reports the run gone, and the event is published until
the broker acknowledges it, then the entry is cleared. Publishing failures are logged and retried on
the next pass; they never stop the worker. The control worker tolerates the duplicate event a crash
between publish and clear may cause.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from loguru import logger

from matyan_models import ControlEvent, ControlEventType
from matyan_store import outbox, runs
from matyan_store.engine.base import Engine, ReadTransaction, Transaction
from matyan_store.keys import SYSTEM
from matyan_store.values import decode_value

__all__ = [
    "PendingDeletion",
    "adopt_legacy_entries",
    "clear_pending",
    "drain_outbox",
    "finish_deletion",
    "get_pending",
    "list_pending",
    "put_pending",
    "run_deleted_event",
]

OUTBOX_KIND = "run_deleted"

Publish = Callable[[bytes], Awaitable[None]]
"""Sends one control-event value and returns once the broker acknowledged it."""


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


def _pending(entry: outbox.OutboxEntry) -> PendingDeletion:
    return PendingDeletion(
        run_id=entry.key,
        blob_keys=[str(k) for k in entry.payload.get("blob_keys") or []],
        data_deleted=bool(entry.payload.get("data_deleted")),
        recorded_at=entry.recorded_at,
    )


def put_pending(tr: Transaction, entry: PendingDeletion) -> None:
    """Record (or update) the run's pending deletion."""
    payload = {"blob_keys": list(entry.blob_keys), "data_deleted": entry.data_deleted}
    outbox.record(tr, OUTBOX_KIND, entry.run_id, payload, at=entry.recorded_at)


def get_pending(tr: ReadTransaction, run_id: str) -> PendingDeletion | None:
    """The run's pending deletion, if any."""
    entry = outbox.get(tr, OUTBOX_KIND, run_id)
    return None if entry is None else _pending(entry)


def list_pending(tr: ReadTransaction, limit: int = 0) -> list[PendingDeletion]:
    """Pending deletions in run id order (``limit`` 0: all)."""
    return [_pending(e) for e in outbox.list_entries(tr, OUTBOX_KIND, limit=limit)]


def clear_pending(tr: Transaction, run_id: str) -> None:
    """Forget the run's pending deletion (its event was acknowledged)."""
    outbox.clear(tr, OUTBOX_KIND, run_id)


# Where this outbox lived before it moved to the store's general outbox; read only to adopt entries.
_LEGACY_OUTBOX = SYSTEM[("workers", "run_deleted_outbox")]


def _has_legacy_entries(tr: ReadTransaction) -> bool:
    begin, end = _LEGACY_OUTBOX.range()
    return bool(list(tr.get_range(begin, end, limit=1)))


def adopt_legacy_entries(tr: Transaction, limit: int = 1000) -> int:
    """Move entries of the worker's former outbox layout into the store's outbox; returns how many."""
    begin, end = _LEGACY_OUTBOX.range()
    rows = list(tr.get_range(begin, end, limit=limit))
    for key, raw in rows:
        fields = decode_value(raw)
        run_id = str(_LEGACY_OUTBOX.unpack(key)[0])
        if get_pending(tr, run_id) is None:
            put_pending(
                tr,
                PendingDeletion(
                    run_id=run_id,
                    blob_keys=[str(k) for k in fields.get("blob_keys") or []],
                    data_deleted=bool(fields.get("data_deleted")),
                    recorded_at=float(fields.get("recorded_at") or 0.0),
                ),
            )
        tr.clear(key)
    return len(rows)


def run_deleted_event(entry: PendingDeletion, *, now: datetime | None = None) -> ControlEvent:
    """The ``run_deleted`` control event of a finished deletion (0.2.1 shape)."""
    return ControlEvent(
        type=ControlEventType.RUN_DELETED.value,
        timestamp=now or datetime.now(UTC),
        payload=entry.event_payload(),
    )


def finish_deletion(engine: Engine, run_id: str, *, max_bytes: int) -> PendingDeletion | None:
    """Delete what is left of the run, one bounded transaction at a time; the entry once data is gone."""
    while True:

        def step(tr: Transaction) -> tuple[bool, PendingDeletion | None]:
            entry = get_pending(tr, run_id)
            if entry is None or entry.data_deleted:
                return True, entry
            if not runs.delete_run_data(tr, run_id, max_bytes=max_bytes):
                return False, entry
            finished = PendingDeletion(run_id, entry.blob_keys, True, entry.recorded_at)
            put_pending(tr, finished)
            return True, finished

        done, entry = engine.transact(step)
        if done:
            return entry


async def drain_outbox(engine: Engine, publish: Publish, *, max_bytes: int, limit: int = 100) -> int:
    """Finish every pending deletion and publish its event; returns how many events were acknowledged.

    An entry whose publish fails stays in the outbox for the next call.
    """
    if await engine.aread(_has_legacy_entries):
        await engine.atransact(adopt_legacy_entries)
    entries = await engine.aread(lambda tr: list_pending(tr, limit=limit))
    published = 0
    for pending in entries:
        entry = pending
        if not entry.data_deleted:
            finished = await _finish_async(engine, entry.run_id, max_bytes)
            if finished is None:
                continue
            entry = finished
        try:
            await publish(run_deleted_event(entry).model_dump_json().encode())
        except Exception as exc:
            logger.warning("publishing run_deleted for {} failed ({}); retried later", entry.run_id, exc)
            continue
        recorded = entry.recorded_at

        def clear(tr: Transaction, run_id: str = entry.run_id, recorded: float = recorded) -> None:
            # A newer deletion of the same id (re-created, deleted again) keeps its own entry.
            outbox.clear(tr, OUTBOX_KIND, run_id, recorded_at=recorded)

        await engine.atransact(clear)
        published += 1
        logger.info("published run_deleted for {} ({} blob keys)", entry.run_id, len(entry.blob_keys))
    return published


async def _finish_async(engine: Engine, run_id: str, max_bytes: int) -> PendingDeletion | None:
    return await asyncio.to_thread(finish_deletion, engine, run_id, max_bytes=max_bytes)
