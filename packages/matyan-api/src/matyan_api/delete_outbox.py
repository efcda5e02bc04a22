"""The API's ``delete_run`` outbox: a deletion is published until the broker has it.

``DELETE /runs/{id}/`` and ``POST /runs/delete-batch/`` record a ``delete_run`` entry in the store's
outbox (:mod:`matyan_store.outbox`) in the transaction that flags the run pending deletion. After the
commit the route publishes the message and, once the broker acknowledged it, clears the entry. When the
broker is down the entry stays, and :class:`DeleteOutboxDrainer` (a task of the app's lifespan)
publishes it later, so the run does not stay hidden-but-undeleted forever.

Every API process drains: two of them may publish the same entry, which is harmless (the worker's
deletion is idempotent, a second ``delete_run`` for a tombstoned run is dropped). To keep that rare the
drainer leaves young entries to the request that recorded them (:data:`MIN_AGE_S`), waits a jittered
interval between passes, and backs off exponentially while publishing fails.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Sequence
from typing import Final

from loguru import logger

from matyan_api.kafka_publisher import Publisher
from matyan_models import IngestionMessageType
from matyan_store import outbox
from matyan_store.engine import Engine, Transaction

__all__ = [
    "KIND",
    "DeleteOutboxDrainer",
    "clear_published",
    "drain_once",
    "publish_and_clear",
    "record_delete",
]

KIND: Final = IngestionMessageType.DELETE_RUN.value
BATCH: Final = 100
"""Entries read per drain pass (one bounded range read)."""
INTERVAL_S: Final = 5.0
MAX_INTERVAL_S: Final = 120.0
MIN_AGE_S: Final = 30.0
"""An entry younger than this is probably still being published by the request that recorded it."""


def record_delete(tr: Transaction, run_id: str) -> outbox.OutboxEntry:
    """Record the run's ``delete_run`` in ``tr`` (the transaction flagging it pending deletion)."""
    return outbox.record(tr, KIND, run_id)


async def clear_published(engine: Engine, entries: Sequence[outbox.OutboxEntry]) -> None:
    """Clear the given (published) entries in one transaction; entries recorded again meanwhile stay."""
    if not entries:
        return

    def clear(tr: Transaction) -> None:
        for entry in entries:
            outbox.clear(tr, KIND, entry.key, recorded_at=entry.recorded_at)

    await engine.atransact(clear)


async def publish_and_clear(
    engine: Engine, publisher: Publisher, entries: Sequence[outbox.OutboxEntry]
) -> tuple[int, int]:
    """Publish ``delete_run`` for each entry and clear the acknowledged ones; ``(published, failed)``.

    Never raises for a publish failure (the entry just stays for the drainer).
    """
    published: list[outbox.OutboxEntry] = []
    failed = 0
    for entry in entries:
        if await publisher.publish_ingestion(KIND, entry.key, {}):
            published.append(entry)
        else:
            failed += 1
    await clear_published(engine, published)
    return len(published), failed


async def drain_once(
    engine: Engine, publisher: Publisher, *, limit: int = BATCH, min_age_s: float = MIN_AGE_S
) -> tuple[int, int]:
    """One pass: publish up to ``limit`` entries older than ``min_age_s``; ``(published, failed)``.

    A pass stops at the first failure: the broker is most likely down for the rest as well.
    """
    cutoff = time.time() - min_age_s
    entries = await engine.aread(lambda tr: outbox.list_entries(tr, KIND, limit=limit))
    due = [e for e in entries if e.recorded_at <= cutoff]
    published: list[outbox.OutboxEntry] = []
    failed = 0
    for entry in due:
        if not await publisher.publish_ingestion(KIND, entry.key, {}):
            failed = 1
            break
        published.append(entry)
    await clear_published(engine, published)
    if published:
        logger.info("published {} delete_run message(s) left in the outbox", len(published))
    return len(published), failed


class DeleteOutboxDrainer:
    """Drains the ``delete_run`` outbox periodically until :meth:`stop`."""

    def __init__(
        self,
        engine: Engine,
        publisher: Publisher,
        *,
        interval_s: float = INTERVAL_S,
        max_interval_s: float = MAX_INTERVAL_S,
        min_age_s: float = MIN_AGE_S,
        limit: int = BATCH,
    ) -> None:
        self._engine = engine
        self._publisher = publisher
        self._interval_s = interval_s
        self._max_interval_s = max_interval_s
        self._min_age_s = min_age_s
        self._limit = limit
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the background task on the running loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="delete-outbox-drainer")

    async def stop(self) -> None:
        """Stop the task and wait for it (a pass in progress finishes its current publish)."""
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _run(self) -> None:
        delay = self._interval_s
        while not await self._sleep(delay * random.uniform(0.8, 1.2)):  # jitter keeps API processes apart
            try:
                published, failed = await drain_once(
                    self._engine, self._publisher, limit=self._limit, min_age_s=self._min_age_s
                )
            except Exception as exc:  # a store hiccup must not end the task
                logger.warning("draining the delete_run outbox failed: {}: {}", type(exc).__name__, exc)
                published, failed = 0, 1
            if failed:
                delay = min(delay * 2, self._max_interval_s)
            elif published >= self._limit:
                delay = 0.0  # a full batch went out: more are probably waiting
            else:
                delay = self._interval_s

    async def _sleep(self, seconds: float) -> bool:
        """Wait ``seconds`` or until stopped; whether stopped."""
        try:
            await asyncio.wait_for(self._stop.wait(), seconds)
        except TimeoutError:
            return False
        return True
