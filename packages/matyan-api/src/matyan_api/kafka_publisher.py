"""Kafka side effects of the API: control events and ``delete_run`` ingestion messages.

:class:`Publisher` is what routes depend on. :class:`KafkaPublisher` is the real one (two aiokafka
producers, as the reference has: control events unkeyed, ingestion keyed by run id so a
``delete_run`` is ordered after earlier ingestion of the same run). :class:`RecordingPublisher` keeps
what was published in memory, for unit tests.

Publishing never raises: a failure is logged and reported as ``False`` (the HTTP response is unaffected; see
docs/http-contract.md, Side effects). A producer that could not start, or whose start failed, is started again
lazily by the next publish or readiness probe, at most once per :data:`RECONNECT_INTERVAL_S`.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Protocol

from aiokafka import AIOKafkaProducer
from loguru import logger

from matyan_models import ControlEvent, IngestionMessage
from matyan_models.kafka_settings import KafkaSettings

__all__ = [
    "KafkaPublisher",
    "PublishedMessage",
    "Publisher",
    "RecordingPublisher",
]

RECONNECT_INTERVAL_S: Final = 5.0
START_TIMEOUT_S: Final = 10.0
SEND_TIMEOUT_S: Final = 15.0


class Publisher(Protocol):
    """Where the API sends its Kafka side effects."""

    async def start(self) -> None:
        """Connect; a failure is logged and retried lazily, never raised."""

    async def stop(self) -> None:
        """Flush and disconnect."""

    def is_ready(self) -> bool:
        """Whether both producers are connected."""

    def readiness(self) -> dict[str, bool]:
        """Per-producer readiness: ``{"control_producer": bool, "ingestion_producer": bool}``."""

    async def publish_control(self, event_type: str, payload: dict[str, Any]) -> bool:
        """Publish a :class:`ControlEvent` to the control topic; ``False`` if it could not be sent."""

    async def publish_ingestion(self, message_type: str, run_id: str, payload: dict[str, Any]) -> bool:
        """Publish an :class:`IngestionMessage` keyed by ``run_id``; ``False`` if it could not be sent."""


def control_event_json(event_type: str, payload: dict[str, Any]) -> str:
    """The wire form of a control event stamped now (UTC)."""
    return ControlEvent(type=event_type, timestamp=datetime.now(UTC), payload=payload).model_dump_json()


def ingestion_message_json(message_type: str, run_id: str, payload: dict[str, Any]) -> str:
    """The wire form of an ingestion message stamped now (UTC)."""
    return IngestionMessage(
        type=message_type, run_id=run_id, timestamp=datetime.now(UTC), payload=payload
    ).model_dump_json()


class _Producer:
    """One aiokafka producer that (re)starts lazily and never raises out of ``send``."""

    def __init__(self, name: str, settings: KafkaSettings) -> None:
        self.name = name
        self._settings = settings
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()
        self._last_attempt = float("-inf")

    def is_started(self) -> bool:
        return self._producer is not None

    async def ensure_started(self, *, force: bool = False) -> bool:
        if self.is_started():
            return True
        async with self._lock:
            if self.is_started():  # another task started it while this one waited
                return True
            now = time.monotonic()
            if not force and now - self._last_attempt < RECONNECT_INTERVAL_S:
                return False
            self._last_attempt = now
            producer = AIOKafkaProducer(
                client_id=f"matyan-api-{self.name}",
                acks="all",
                **self._settings.connection_kwargs(),
            )
            try:
                await asyncio.wait_for(producer.start(), START_TIMEOUT_S)
            except Exception as exc:
                logger.warning(
                    "Kafka {} producer could not start ({}: {}); will retry",
                    self.name,
                    type(exc).__name__,
                    exc,
                )
                await _quiet_stop(producer)
                return False
            self._producer = producer
            logger.info("Kafka {} producer started", self.name)
            return True

    async def send(self, topic: str, value: str, key: str | None) -> bool:
        if not await self.ensure_started():
            logger.error("Kafka {} producer not started; dropped a message for {}", self.name, topic)
            return False
        producer = self._producer
        assert producer is not None
        try:
            await asyncio.wait_for(
                producer.send_and_wait(
                    topic,
                    value=value.encode("utf-8"),
                    key=None if key is None else key.encode("utf-8"),
                ),
                SEND_TIMEOUT_S,
            )
        except Exception as exc:
            logger.error("Kafka {} publish to {} failed: {}: {}", self.name, topic, type(exc).__name__, exc)
            return False
        return True

    async def stop(self) -> None:
        async with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            await _quiet_stop(producer)


async def _quiet_stop(producer: AIOKafkaProducer) -> None:
    try:
        await producer.stop()
    except Exception as exc:  # stopping a half-started producer may fail; nothing is lost by it
        logger.debug("Kafka producer stop failed: {}", exc)


class KafkaPublisher:
    """The real :class:`Publisher`: one producer per topic, acks from all in-sync replicas."""

    def __init__(self, settings: KafkaSettings) -> None:
        self._settings = settings
        self._control = _Producer("control", settings)
        self._ingestion = _Producer("ingestion", settings)
        self._reconnect: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start both producers (a failure is logged; they are retried lazily)."""
        await asyncio.gather(
            self._control.ensure_started(force=True), self._ingestion.ensure_started(force=True)
        )

    async def stop(self) -> None:
        """Stop the ingestion producer first, then the control producer (the reference's order)."""
        if self._reconnect is not None:
            self._reconnect.cancel()
        await self._ingestion.stop()
        await self._control.stop()

    def is_ready(self) -> bool:
        """Whether both producers are started; if not, a reconnect is scheduled in the background."""
        ready = self._control.is_started() and self._ingestion.is_started()
        if not ready and (self._reconnect is None or self._reconnect.done()):
            self._reconnect = asyncio.get_running_loop().create_task(self._reconnect_both())
        return ready

    async def _reconnect_both(self) -> None:
        await asyncio.gather(self._control.ensure_started(), self._ingestion.ensure_started())

    def readiness(self) -> dict[str, bool]:
        """``{"control_producer": bool, "ingestion_producer": bool}``."""
        self.is_ready()
        return {
            "control_producer": self._control.is_started(),
            "ingestion_producer": self._ingestion.is_started(),
        }

    async def publish_control(self, event_type: str, payload: dict[str, Any]) -> bool:
        """Publish a control event (no key) to ``KAFKA_CONTROL_EVENTS_TOPIC``."""
        value = control_event_json(str(event_type), payload)
        return await self._control.send(self._settings.kafka_control_events_topic, value, key=None)

    async def publish_ingestion(self, message_type: str, run_id: str, payload: dict[str, Any]) -> bool:
        """Publish an ingestion message keyed by ``run_id`` to ``KAFKA_DATA_INGESTION_TOPIC``."""
        value = ingestion_message_json(str(message_type), run_id, payload)
        return await self._ingestion.send(self._settings.kafka_data_ingestion_topic, value, key=run_id)


@dataclass(frozen=True, slots=True)
class PublishedMessage:
    """One message a :class:`RecordingPublisher` was asked to publish."""

    topic: str
    key: str | None
    value: dict[str, Any]


@dataclass
class RecordingPublisher:
    """An in-memory :class:`Publisher` for tests: records every message; ``ready`` and ``fail`` steer it."""

    ready: bool = True
    fail: bool = False
    messages: list[PublishedMessage] = field(default_factory=list)
    control_topic: str = "control-events"
    ingestion_topic: str = "data-ingestion"

    async def start(self) -> None:
        """Nothing to connect."""

    async def stop(self) -> None:
        """Nothing to disconnect."""

    def is_ready(self) -> bool:
        """What ``ready`` says."""
        return self.ready

    def readiness(self) -> dict[str, bool]:
        """Both producers as ``ready`` says."""
        return {"control_producer": self.ready, "ingestion_producer": self.ready}

    async def publish_control(self, event_type: str, payload: dict[str, Any]) -> bool:
        """Record a control event (or fail, when ``fail`` is set)."""
        return self._record(self.control_topic, None, control_event_json(str(event_type), payload))

    async def publish_ingestion(self, message_type: str, run_id: str, payload: dict[str, Any]) -> bool:
        """Record an ingestion message (or fail, when ``fail`` is set)."""
        value = ingestion_message_json(str(message_type), run_id, payload)
        return self._record(self.ingestion_topic, run_id, value)

    def _record(self, topic: str, key: str | None, value: str) -> bool:
        if self.fail:
            return False
        self.messages.append(PublishedMessage(topic, key, json.loads(value)))
        return True

    def of_type(self, message_type: str) -> list[PublishedMessage]:
        """The recorded messages whose ``type`` is ``message_type``."""
        return [m for m in self.messages if m.value.get("type") == message_type]
