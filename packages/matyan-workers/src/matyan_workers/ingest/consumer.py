"""The ingest worker's Kafka loop: fetch a batch, apply it in store transactions, then the after-work.

Offsets live in the store (see :mod:`.batching`): on start and on every partition assignment each
partition is positioned after its stored offset, and committing to Kafka afterwards only saves a
restarted consumer some skipped records. Between batches the worker also applies the dead letters an
operator asked to replay on the partitions it is assigned (so a partition's messages are still applied
by one worker at a time). A SIGTERM (``stop`` set) lets the current batch finish and
commit; stopping the consumer then leaves the group, so the partitions move on at once.

A partition whose log went back below its stored offset (topic recreated, log truncated, broker storage
lost) is never consumed as if nothing happened: its new records at or below the stored offset would be
skipped as applied. The worker sees it when a fetch reports the log's end at or below an offset it knows
applied, or returns a record at or below it (the client rewound to the log's start). It then halts the
partition in the store for every worker (:func:`matyan_store.offsets.halt_partition`), stops fetching
it, and resumes once an operator moved the offset (docs/runbook.md, Offset resets).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.structs import ConsumerRecord, OffsetAndMetadata
from loguru import logger

from matyan_store import deadletters, offsets
from matyan_store.engine.base import Engine, ReadTransaction
from matyan_workers import metrics
from matyan_workers.ingest.batching import BatchResult, BatchRunner, Record
from matyan_workers.ingest.deletions import drain_outbox
from matyan_workers.kafka_config import consumer_kwargs, producer_kwargs
from matyan_workers.settings import WorkerSettings
from matyan_workers.tracing import worker_tracer

__all__ = ["IngestWorker"]

_STORE_RETRY_MAX_S = 10.0
_OUTBOX_INTERVAL_S = 5.0
_REPLAY_INTERVAL_S = 5.0
_REPLAY_BATCH = 100
_HALT_CHECK_INTERVAL_S = 2.0


class _SeekToStored(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka ships no types
    def __init__(self, worker: IngestWorker) -> None:
        self.worker = worker

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        revoked = list(revoked)
        logger.info("partitions revoked: {}", sorted(f"{tp.topic}:{tp.partition}" for tp in revoked))
        self.worker.forget(revoked)

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        await self.worker.seek_to_stored(list(assigned))


class IngestWorker:
    """Consumes ``data-ingestion`` into the store; :meth:`run` until ``stop`` is set."""

    def __init__(self, settings: WorkerSettings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self.group = settings.matyan_ingest_group_id
        self.topic = settings.kafka.kafka_data_ingestion_topic
        self.runner = BatchRunner(
            engine,
            self.group,
            max_messages=settings.ingest_max_messages_per_txn,
            max_bytes=settings.ingest_max_txn_bytes,
            delete_max_bytes=settings.matyan_ingest_delete_max_bytes,
        )
        self.tracer = worker_tracer(settings, "matyan-ingest-worker")
        self.consumer: AIOKafkaConsumer | None = None
        self.producer: AIOKafkaProducer | None = None
        self.alive = False
        self._outbox_due = 0.0
        self._replay_due = 0.0
        self._to_commit: dict[TopicPartition, OffsetAndMetadata] = {}
        self._commit_task: asyncio.Task[None] | None = None
        self._applied: dict[TopicPartition, int] = {}
        """Per assigned partition, an offset this worker knows is applied: the log never goes below it."""
        self.halted: set[TopicPartition] = set()
        """Assigned partitions not consumed: their log went back below the stored offset."""
        self._halt_check_due = 0.0
        self._assignments = 0
        """Bumped by every (re)positioning: a batch applied across one must not raise ``_applied``."""

    async def seek_to_stored(self, assigned: list[TopicPartition]) -> None:
        """Position every assigned partition right after its last applied offset (at 0 if it has none).

        A partition halted in the store is paused instead.
        """
        consumer = self.consumer
        if consumer is None or not assigned:
            return

        def read(
            tr: ReadTransaction,
        ) -> dict[TopicPartition, tuple[int | None, offsets.PartitionHalt | None]]:
            return {
                tp: (
                    offsets.get_offset(tr, self.group, tp.topic, tp.partition),
                    offsets.get_halt(tr, self.group, tp.topic, tp.partition),
                )
                for tp in assigned
            }

        self._assignments += 1
        stored = await self.engine.aread(read)
        for tp, (last, halt) in stored.items():
            self._applied.pop(tp, None)
            self.halted.discard(tp)
            if halt is not None:
                self._pause(tp, halt.applied, halt.reason)
            elif last is not None:
                consumer.seek(tp, last + 1)
                self._applied[tp] = last
            else:
                # Nothing applied: the whole log, whatever Kafka holds as committed (an offsets reset may
                # have moved the store back past it). Below the log's start, the client moves up to it.
                consumer.seek(tp, 0)
        logger.info(
            "assigned {}",
            {
                f"{tp.topic}:{tp.partition}": "halted"
                if tp in self.halted
                else (None if o is None else o + 1)
                for tp, (o, _) in stored.items()
            },
        )

    def forget(self, revoked: list[TopicPartition]) -> None:
        """Drop what this worker knew of partitions it no longer owns."""
        self._assignments += 1
        for tp in revoked:
            self._applied.pop(tp, None)
            self.halted.discard(tp)

    async def _halt(self, tp: TopicPartition, applied: int, log_offset: int, reason: str) -> None:
        """Record a log that went back below the stored offset, and stop consuming the partition."""
        await self.engine.atransact(
            lambda tr: offsets.halt_partition(
                tr,
                self.group,
                tp.topic,
                tp.partition,
                applied=applied,
                log_offset=log_offset,
                reason=reason,
                at=time.time(),
            )
        )
        metrics.INGESTION_OFFSET_RESETS.labels(topic=tp.topic, partition=str(tp.partition)).inc()
        self._pause(tp, applied, reason)

    def _pause(self, tp: TopicPartition, applied: int, reason: str) -> None:
        assert self.consumer is not None
        self.consumer.pause(tp)
        self.halted.add(tp)
        self._applied.pop(tp, None)
        logger.error(
            "partition {}:{} went back below the applied offset: the store's last applied offset is {}, "
            "but {}; not consuming it until `matyan-backend offsets reset` moves the stored offset "
            "(docs/runbook.md, Offset resets)",
            tp.topic,
            tp.partition,
            applied,
            reason,
        )

    async def _resume_reset(self) -> None:
        """Consume again the halted partitions whose halt an operator lifted (offsets reset)."""
        now = time.monotonic()
        consumer = self.consumer
        if consumer is None or not self.halted or now < self._halt_check_due:
            return
        self._halt_check_due = now + _HALT_CHECK_INTERVAL_S
        assigned = consumer.assignment()
        halted = [tp for tp in self.halted if tp in assigned]
        self.halted &= set(halted)
        try:
            halts = await self.engine.aread(
                lambda tr: {tp: offsets.get_halt(tr, self.group, tp.topic, tp.partition) for tp in halted}
            )
        except Exception as exc:
            logger.warning("reading the partition halts failed ({}); retried later", exc)
            return
        lifted = [tp for tp, halt in halts.items() if halt is None]
        if not lifted:
            return
        await self.seek_to_stored(lifted)
        resumed = [tp for tp in lifted if tp not in self.halted]
        if resumed:
            consumer.resume(*resumed)
            logger.info(
                "resumed {} after an offsets reset", sorted(f"{tp.topic}:{tp.partition}" for tp in resumed)
            )

    async def _unrewound(self, fetched: dict[TopicPartition, list[ConsumerRecord]]) -> list[Record]:
        """The fetched records, less those of halted partitions and of partitions whose log went back.

        The broker reports each partition's log end with every fetch, records or not (some brokers, tansu
        among them, answer a fetch past the log's end with nothing rather than an out-of-range error), and
        a log end at or below an offset known applied means the log went back; so does a record at or below
        it (the client rewound to the log's start).
        """
        consumer = self.consumer
        assert consumer is not None
        for tp, applied in list(self._applied.items()):
            end = consumer.highwater(tp)
            if end is not None and end <= applied:
                await self._halt(tp, applied, end, f"the log now ends before offset {end}")
        records: list[Record] = []
        for tp, tp_records in fetched.items():
            if tp in self.halted or not tp_records:
                continue
            first = tp_records[0].offset
            known = self._applied.get(tp)
            if known is not None and first <= known:
                await self._halt(tp, known, first, f"the log now has a record at offset {first}")
                continue
            topic, partition = tp.topic, tp.partition
            records += [Record(topic, partition, r.offset, r.key, r.value or b"") for r in tp_records]
        return records

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set; the batch in progress finishes and is committed first."""
        # A fetch waits for data at most as long as a batch does: some brokers (tansu) hold every fetch
        # for its whole max wait (aiokafka's default is 500 ms), which would dominate ingest latency.
        kwargs = consumer_kwargs(self.settings, self.group)
        kwargs.setdefault("fetch_max_wait_ms", self.settings.ingest_batch_timeout_ms)
        self.consumer = AIOKafkaConsumer(**kwargs)
        self.consumer.subscribe([self.topic], listener=_SeekToStored(self))
        self.producer = AIOKafkaProducer(**producer_kwargs(self.settings))
        try:
            # Together: joining the group waits for the broker's join window, the producer need not.
            await asyncio.gather(self.producer.start(), self.consumer.start())
            self.alive = True
            logger.info("ingest worker consuming {} in group {}", self.topic, self.group)
            await self._drain_outbox(force=True)
            while not stop.is_set():
                fetched = await self.consumer.getmany(
                    timeout_ms=self.settings.ingest_batch_timeout_ms,
                    max_records=self.settings.ingest_batch_size,
                )
                records = await self._unrewound(fetched)
                if records:
                    assignments = self._assignments
                    result = await self._apply(records, stop)
                    if result is None:
                        break
                    if assignments == self._assignments:
                        for (topic, partition), offset in result.last_offsets.items():
                            tp = TopicPartition(topic, partition)
                            self._applied[tp] = max(offset, self._applied.get(tp, -1))
                    self._commit_soon(result)
                    await self._drain_outbox(force=bool(result.started_deletions))
                else:
                    await self._drain_outbox(force=False)
                await self._replay_requested()
                await self._resume_reset()
        finally:
            self.alive = False
            await self._close()

    async def _apply(self, records: list[Record], stop: asyncio.Event) -> BatchResult | None:
        metrics.INGESTION_CONSUMED.inc(len(records))
        metrics.INGESTION_BATCH_SIZE.observe(len(records))
        delay = 0.2
        while True:
            started = time.perf_counter()
            try:
                with self.tracer.start_as_current_span("ingest.batch") as span:
                    span.set_attribute("messaging.batch.message_count", len(records))
                    result = await asyncio.to_thread(self.runner.run, records)
                    span.set_attribute("matyan.dead_letters", result.dead_letters)
            except Exception as exc:
                # The store itself failed (not a message): nothing was applied past the last commit.
                logger.error("store unavailable while applying a batch ({}); retrying in {:.1f}s", exc, delay)
                if stop.is_set():
                    return None
                await asyncio.sleep(delay)
                delay = min(delay * 2, _STORE_RETRY_MAX_S)
                continue
            metrics.INGESTION_BATCH_DURATION.observe(time.perf_counter() - started)
            for message_type, n in result.processed.items():
                metrics.INGESTION_PROCESSED.labels(message_type=message_type).inc(n)
            for error_type, n in result.errors.items():
                metrics.INGESTION_ERRORS.labels(error_type=error_type).inc(n)
            for size in result.txn_bytes:
                metrics.INGESTION_TXN_BYTES.observe(size)
            if result.retries:
                metrics.INGESTION_FDB_RETRIES.inc(result.retries)
            return result

    async def _replay_requested(self) -> None:
        """Apply the dead letters awaiting replay on the assigned partitions (a bounded number a pass)."""
        now = time.monotonic()
        if self.consumer is None or now < self._replay_due:
            return
        self._replay_due = now + _REPLAY_INTERVAL_S
        assigned = [tp for tp in self.consumer.assignment() if tp.topic == self.topic]
        try:
            letters = await self.engine.aread(
                lambda tr: [
                    d
                    for tp in sorted(assigned)
                    for d in deadletters.replay_requested(tr, tp.topic, tp.partition, _REPLAY_BATCH)
                ]
            )
        except Exception as exc:
            logger.warning("reading the dead letters to replay failed ({}); retried later", exc)
            return
        if not letters:
            return
        try:
            result = await asyncio.to_thread(self.runner.replay, letters)
        except Exception as exc:  # the store failed: the requests stay for the next pass
            logger.error("store unavailable while replaying dead letters ({}); retried later", exc)
            return
        logger.info(
            "replayed {} dead letter(s): {} applied, {} failed again, {} already replayed",
            len(letters),
            sum(result.processed.values()),
            result.dead_letters,
            result.already_applied,
        )
        if result.started_deletions:
            await self._drain_outbox(force=True)

    def _commit_soon(self, result: BatchResult) -> None:
        """Tell Kafka too, in the background: an optimisation (the store's offsets are what counts).

        Waiting for the broker after every batch would cost a round trip per batch; positions committed
        later (or never, if the process dies) only make a restarted consumer skip a few more records.
        """
        for (topic, partition), offset in result.last_offsets.items():
            self._to_commit[TopicPartition(topic, partition)] = OffsetAndMetadata(offset + 1, "")
        if self._commit_task is None or self._commit_task.done():
            self._commit_task = asyncio.create_task(self._commit_pending())

    async def _commit_pending(self) -> None:
        consumer = self.consumer
        assert consumer is not None
        while self._to_commit:
            assignment = consumer.assignment()
            positions = {tp: om for tp, om in self._to_commit.items() if tp in assignment}
            self._to_commit = {}
            if not positions:
                continue
            try:
                await consumer.commit(positions)
            except Exception as exc:
                logger.debug("kafka commit skipped ({}); the store holds the offsets", exc)

    async def _drain_outbox(self, *, force: bool) -> None:
        now = time.monotonic()
        if not force and now < self._outbox_due:
            return
        self._outbox_due = now + _OUTBOX_INTERVAL_S
        producer = self.producer
        if producer is None:
            return
        topic = self.settings.kafka.kafka_control_events_topic

        async def publish(value: bytes) -> None:
            await producer.send_and_wait(topic, value)

        try:
            await drain_outbox(self.engine, publish, max_bytes=self.settings.matyan_ingest_delete_max_bytes)
        except Exception as exc:
            logger.warning("finishing deletions failed ({}); retried later", exc)

    async def _close(self) -> None:
        if self._commit_task is not None:
            # The last batch's positions reach Kafka before the consumer leaves the group.
            try:
                await self._commit_task
            except Exception as exc:
                logger.debug("kafka commit skipped ({}); the store holds the offsets", exc)
        if self.consumer is not None:
            try:
                await self.consumer.stop()
            except Exception as exc:
                logger.warning("stopping the consumer: {}", exc)
        if self.producer is not None:
            try:
                await self.producer.stop()
            except Exception as exc:
                logger.warning("stopping the producer: {}", exc)
