"""The control worker's loop: one event at a time, retried with backoff, dead-lettered when it keeps failing.

Handlers are idempotent, so delivery is at least once: the Kafka offset is committed after the event is
handled (or dead-lettered in the store), and a crash in between only repeats the event.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import OffsetAndMetadata
from loguru import logger
from pydantic import ValidationError

from matyan_models import ControlEvent
from matyan_store import deadletters
from matyan_store.blobs import BlobError, BlobStore
from matyan_store.engine.base import Engine
from matyan_workers import metrics
from matyan_workers.control.handlers import BlobCleanupIncomplete, handle_event
from matyan_workers.kafka_config import consumer_kwargs
from matyan_workers.settings import WorkerSettings
from matyan_workers.tracing import worker_tracer

__all__ = ["ControlWorker", "error_type_of"]

_BACKOFF_START_S = 0.2
_BACKOFF_MAX_S = 5.0


def error_type_of(exc: BaseException) -> str:
    """The ``error_type`` label (docs/runbook.md, Health and metrics) of a failed event."""
    if isinstance(exc, ValidationError):
        return "validation"
    if isinstance(exc, BlobError | BlobCleanupIncomplete | OSError) or type(exc).__name__ in (
        "ClientError",
        "GoogleCloudError",
        "HttpResponseError",
        "ResourceNotFoundError",
    ):
        return "blob_storage"
    from matyan_store.engine.errors import StoreError

    if isinstance(exc, StoreError):
        return "fdb"
    return "unknown"


class ControlWorker:
    """Consumes ``control-events``; :meth:`run` until ``stop`` is set."""

    def __init__(self, settings: WorkerSettings, engine: Engine, blobs: BlobStore) -> None:
        self.settings = settings
        self.engine = engine
        self.blobs = blobs
        self.group = settings.matyan_control_group_id
        self.topic = settings.kafka.kafka_control_events_topic
        self.tracer = worker_tracer(settings, "matyan-control-worker")
        self.consumer: AIOKafkaConsumer | None = None
        self.alive = False

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set; the event in progress finishes first."""
        self.consumer = AIOKafkaConsumer(self.topic, **consumer_kwargs(self.settings, self.group))
        try:
            await self.consumer.start()
            self.alive = True
            logger.info("control worker consuming {} in group {}", self.topic, self.group)
            while not stop.is_set():
                fetched = await self.consumer.getmany(timeout_ms=500, max_records=50)
                for tp, records in fetched.items():
                    for record in records:
                        await self.handle_record(record, stop)
                        await self._commit(tp, record.offset)
        finally:
            self.alive = False
            try:
                await self.consumer.stop()
            except Exception as exc:
                logger.warning("stopping the consumer: {}", exc)

    async def handle_record(self, record: Any, stop: asyncio.Event | None = None) -> bool:
        """Handle one record with retries; returns whether it succeeded (else it was dead-lettered)."""
        metrics.CONTROL_CONSUMED.inc()
        started = time.perf_counter()
        value: bytes = record.value or b""
        try:
            event = ControlEvent.model_validate_json(value)
        except ValidationError as exc:
            await self._dead_letter(record, exc, "invalid control event")
            return False
        delay = _BACKOFF_START_S
        attempts = self.settings.matyan_control_blob_retries
        with self.tracer.start_as_current_span("control.event") as span:
            span.set_attribute("matyan.event_type", event.type)
            for attempt in range(1, attempts + 1):
                try:
                    await handle_event(self.blobs, event)
                except Exception as exc:
                    if attempt == attempts or (stop is not None and stop.is_set()):
                        await self._dead_letter(record, exc, f"{event.type} failed after {attempt} attempts")
                        return False
                    logger.warning(
                        "{} failed (attempt {}): {}; retrying in {:.1f}s", event.type, attempt, exc, delay
                    )
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, _BACKOFF_MAX_S)
                    continue
                break
        metrics.CONTROL_DURATION.observe(time.perf_counter() - started)
        metrics.CONTROL_PROCESSED.labels(event_type=event.type).inc()
        return True

    async def _dead_letter(self, record: Any, exc: BaseException, what: str) -> None:
        error_type = error_type_of(exc)
        metrics.CONTROL_ERRORS.labels(error_type=error_type).inc()
        reason = f"{what}: {str(exc)[:500]}"
        logger.error(
            "dead letter {}/{}@{} ({}): {}", record.topic, record.partition, record.offset, error_type, reason
        )
        await self.engine.atransact(
            lambda tr: deadletters.add_dead_letter(
                tr,
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                key=record.key,
                value=record.value or b"",
                reason=reason,
                error_type=error_type,
                at=time.time(),
            )
        )

    async def _commit(self, tp: TopicPartition, offset: int) -> None:
        assert self.consumer is not None
        try:
            await self.consumer.commit({tp: OffsetAndMetadata(offset + 1, "")})
        except Exception as exc:
            logger.warning(
                "kafka commit of {}@{} failed ({}); the event may be handled again", tp, offset, exc
            )
