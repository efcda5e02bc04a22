"""After-commit work of ``delete_run``: finish the bounded deletion, then publish ``run_deleted``.

Both steps work from the outbox (:mod:`.outbox`), so they resume after a crash: the deletion continues
in fresh transactions until the store reports the run gone, and the event is published until the broker
acknowledges it. Publishing failures are logged and retried on the next pass; they never stop the worker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from loguru import logger

from matyan_models import ControlEvent, ControlEventType
from matyan_store import runs
from matyan_store.engine.base import Engine, Transaction
from matyan_workers.ingest import outbox

__all__ = ["drain_outbox", "finish_deletion", "run_deleted_event"]

Publish = Callable[[bytes], Awaitable[None]]
"""Sends one control-event value and returns once the broker acknowledged it."""


def run_deleted_event(entry: outbox.PendingDeletion, *, now: datetime | None = None) -> ControlEvent:
    """The ``run_deleted`` control event of a finished deletion (0.2.1 shape)."""
    return ControlEvent(
        type=ControlEventType.RUN_DELETED.value,
        timestamp=now or datetime.now(UTC),
        payload=entry.event_payload(),
    )


def finish_deletion(engine: Engine, run_id: str, *, max_bytes: int) -> outbox.PendingDeletion | None:
    """Delete what is left of the run, one bounded transaction at a time; the entry once data is gone."""
    while True:

        def step(tr: Transaction) -> tuple[bool, outbox.PendingDeletion | None]:
            entry = outbox.get_pending(tr, run_id)
            if entry is None or entry.data_deleted:
                return True, entry
            if not runs.delete_run_data(tr, run_id, max_bytes=max_bytes):
                return False, entry
            finished = outbox.PendingDeletion(run_id, entry.blob_keys, True, entry.recorded_at)
            outbox.put_pending(tr, finished)
            return True, finished

        done, entry = engine.transact(step)
        if done:
            return entry


async def drain_outbox(engine: Engine, publish: Publish, *, max_bytes: int, limit: int = 100) -> int:
    """Finish every pending deletion and publish its event; returns how many events were acknowledged.

    An entry whose publish fails stays in the outbox for the next call.
    """
    entries = await engine.aread(lambda tr: outbox.list_pending(tr, limit=limit))
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
            current = outbox.get_pending(tr, run_id)
            # A newer deletion of the same id (re-created, deleted again) keeps its own entry.
            if current is not None and current.recorded_at == recorded:
                outbox.clear_pending(tr, run_id)

        await engine.atransact(clear)
        published += 1
        logger.info("published run_deleted for {} ({} blob keys)", entry.run_id, len(entry.blob_keys))
    return published


async def _finish_async(engine: Engine, run_id: str, max_bytes: int) -> outbox.PendingDeletion | None:
    return await asyncio.to_thread(finish_deletion, engine, run_id, max_bytes=max_bytes)
