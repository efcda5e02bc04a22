"""The API's event outbox: every Kafka side effect is recorded with its write and published until acked.

A route that changes state and owes the workers a message (archive/unarchive, tag and experiment
deletion on the control topic, ``delete_run`` on the ingestion topic) records the message in the
store's ordered outbox (:mod:`matyan_store.ordered_outbox`) in the transaction that makes the change,
then calls :func:`publish_recorded` after the commit. An acknowledged message is cleared; one the
broker did not take stays, and :class:`EventOutboxDrainer` (a task of the app's lifespan) publishes
it later. A broker outage therefore delays events, it never loses them.

Order: entries are queued per subject (``run/<id>``, ``tag/<id>``, ``experiment/<id>``) and published
from the head of each queue, so the events of one run reach the broker in the order their writes
committed. A request publishes its own entry only when it heads its queue (otherwise an older one is
still waiting, and the drainer publishes both in order); requests of one process take a per-subject
lock, so two of them do not overtake each other. The control topic is unkeyed (one partition, as
deployed), the ingestion topic keyed by run id: both keep that order on the topic.

Delivery is at least once (a crash between publish and clear publishes again): the workers tolerate
duplicates. Only one API process drains at a time (a store lock with an expiry), and it leaves young
entries (:data:`MIN_AGE_S`) to the request that recorded them, so two publishers rarely race; it waits
a jittered interval between passes and backs off exponentially while publishing fails.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, Final, Literal

from loguru import logger

from matyan_api.kafka_publisher import Publisher
from matyan_models import ControlEventType, IngestionMessageType
from matyan_store import locks, ordered_outbox, outbox
from matyan_store.engine import Engine, ReadTransaction, Transaction
from matyan_store.ordered_outbox import OrderedEntry

__all__ = [
    "KIND",
    "EventOutboxDrainer",
    "drain_once",
    "pending",
    "publish_recorded",
    "record_archived",
    "record_control",
    "record_delete_run",
    "run_subject",
]

KIND: Final = "api_events"
BATCH: Final = 100
"""Entries read per drain pass (one bounded range read)."""
INTERVAL_S: Final = 5.0
MAX_INTERVAL_S: Final = 120.0
MIN_AGE_S: Final = 30.0
"""An entry younger than this is probably still being published by the request that recorded it."""
LOCK_NAME: Final = "api-event-outbox-drainer"
LOCK_TTL_S: Final = 120.0
# Where ``delete_run`` entries were kept before every event went through this outbox (adopted once).
_LEGACY_DELETE_KIND: Final = IngestionMessageType.DELETE_RUN.value

Topic = Literal["control", "ingestion"]


def run_subject(run_id: str) -> str:
    """The queue of a run's events."""
    return f"run/{run_id}"


def _record(
    tr: Transaction, subject: str, topic: Topic, message_type: str, payload: dict[str, Any], **extra: Any
) -> OrderedEntry:
    message = {"topic": topic, "type": message_type, "payload": payload, **extra}
    return ordered_outbox.append(tr, KIND, subject, message)


def record_control(
    tr: Transaction, subject: str, event_type: ControlEventType, payload: dict[str, Any]
) -> OrderedEntry:
    """Record a control event about ``subject`` in ``tr`` (the transaction making the change)."""
    return _record(tr, subject, "control", event_type.value, payload)


def record_archived(tr: Transaction, run_id: str, archived: bool) -> OrderedEntry:
    """Record ``run_archived`` / ``run_unarchived`` ``{run_id, archived}`` in ``tr``."""
    event = ControlEventType.RUN_ARCHIVED if archived else ControlEventType.RUN_UNARCHIVED
    return record_control(tr, run_subject(run_id), event, {"run_id": run_id, "archived": archived})


def record_delete_run(tr: Transaction, run_id: str) -> OrderedEntry:
    """Record the run's ``delete_run`` ingestion message in ``tr`` (the transaction flagging it pending)."""
    return _record(tr, run_subject(run_id), "ingestion", _LEGACY_DELETE_KIND, {}, run_id=run_id)


async def _publish(publisher: Publisher, entry: OrderedEntry) -> bool:
    message = entry.payload
    message_type, payload = str(message.get("type", "")), message.get("payload")
    body = dict(payload) if isinstance(payload, dict) else {}
    if message.get("topic") == "ingestion":
        return await publisher.publish_ingestion(message_type, str(message.get("run_id", "")), body)
    return await publisher.publish_control(message_type, body)


async def _clear(engine: Engine, entries: Sequence[OrderedEntry]) -> None:
    if not entries:
        return

    def clear(tr: Transaction) -> None:
        for entry in entries:
            ordered_outbox.clear(tr, entry)

    await engine.atransact(clear)


_subject_locks: dict[str, tuple[asyncio.Lock, int]] = {}


@asynccontextmanager
async def _subject_lock(subject: str) -> AsyncIterator[None]:
    """This process's lock on one subject's queue (dropped when nobody holds or waits for it)."""
    lock, users = _subject_locks.get(subject, (asyncio.Lock(), 0))
    _subject_locks[subject] = (lock, users + 1)
    try:
        async with lock:
            yield
    finally:
        lock, users = _subject_locks[subject]
        if users == 1:
            del _subject_locks[subject]
        else:
            _subject_locks[subject] = (lock, users - 1)


async def publish_recorded(engine: Engine, publisher: Publisher, entries: Sequence[OrderedEntry]) -> int:
    """Publish the entries a request just committed, each if it heads its queue; how many went out.

    Never raises for a publish failure: the entry stays for the drainer, as does one queued behind an
    older entry of its subject. After a failure the rest are left to the drainer as well (the broker
    is most likely down for them too).
    """
    published = 0
    for entry in entries:
        async with _subject_lock(entry.subject):
            first = await engine.aread(partial(ordered_outbox.head, kind=KIND, subject=entry.subject))
            if first != entry:
                continue
            if not await _publish(publisher, entry):
                break
            await _clear(engine, [entry])
            published += 1
    return published


def _adopt_legacy(tr: Transaction) -> int:
    """Move ``delete_run`` entries of the former per-kind outbox into the event queues."""
    legacy = outbox.list_entries(tr, _LEGACY_DELETE_KIND, limit=BATCH)
    for entry in legacy:
        record_delete_run(tr, entry.key)
        outbox.clear(tr, _LEGACY_DELETE_KIND, entry.key)
    return len(legacy)


async def drain_once(
    engine: Engine, publisher: Publisher, *, limit: int = BATCH, min_age_s: float = MIN_AGE_S
) -> tuple[int, int]:
    """One pass: publish up to ``limit`` queued entries older than ``min_age_s``; ``(published, failed)``.

    Each subject's queue is published from its head; a young entry holds back the rest of its queue.
    A pass stops at the first failure: the broker is most likely down for the rest as well.
    """
    await engine.atransact(_adopt_legacy)
    cutoff = time.time() - min_age_s
    entries = await engine.aread(lambda tr: ordered_outbox.list_entries(tr, KIND, limit=limit))
    held: set[str] = set()
    published: list[OrderedEntry] = []
    failed = 0
    for entry in entries:
        if entry.subject in held:
            continue
        if entry.recorded_at > cutoff:
            held.add(entry.subject)
            continue
        async with _subject_lock(entry.subject):
            ok = await _publish(publisher, entry)
        if not ok:
            failed = 1
            break
        published.append(entry)
    await _clear(engine, published)
    if published:
        logger.info("published {} event(s) left in the outbox", len(published))
    return len(published), failed


class EventOutboxDrainer:
    """Drains the event outbox periodically until :meth:`stop`, while it holds the drainer lock."""

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
        self._owner = f"api-{uuid.uuid4().hex}"
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the background task on the running loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="event-outbox-drainer")

    async def stop(self) -> None:
        """Stop the task, wait for it (a pass in progress finishes its current publish), release the lock."""
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None
            try:
                await self._engine.atransact(lambda tr: locks.release(tr, LOCK_NAME, self._owner))
            except Exception as exc:  # the lock expires by itself
                logger.debug("releasing the event outbox lock failed: {}", exc)

    async def _pass(self) -> tuple[int, int]:
        def acquire(tr: Transaction) -> bool:
            return locks.try_acquire(tr, LOCK_NAME, LOCK_TTL_S, self._owner)

        if not await self._engine.atransact(acquire):
            return 0, 0  # another API process drains
        return await drain_once(self._engine, self._publisher, limit=self._limit, min_age_s=self._min_age_s)

    async def _run(self) -> None:
        delay = self._interval_s
        while not await self._sleep(delay * random.uniform(0.8, 1.2)):  # jitter keeps API processes apart
            try:
                published, failed = await self._pass()
            except Exception as exc:  # a store hiccup must not end the task
                logger.warning("draining the event outbox failed: {}: {}", type(exc).__name__, exc)
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


def pending(tr: ReadTransaction) -> list[OrderedEntry]:
    """Every entry still waiting to be published (tests and diagnostics)."""
    return ordered_outbox.list_entries(tr, KIND)
