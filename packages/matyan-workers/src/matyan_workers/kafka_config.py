"""Kafka client options of both workers: manually committed consumers and the control-event producer.

See docs/configuration.md, Kafka. No idempotent producer and no Kafka transactions are used: the
exactly-once effect comes from offsets stored with the data.
"""

from __future__ import annotations

from typing import Any

from matyan_workers.settings import WorkerSettings

__all__ = ["consumer_kwargs", "producer_kwargs"]


def consumer_kwargs(settings: WorkerSettings, group_id: str) -> dict[str, Any]:
    """Options of a manually committed consumer in ``group_id``."""
    kwargs: dict[str, Any] = {
        **settings.kafka.connection_kwargs(),
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "session_timeout_ms": settings.matyan_kafka_session_timeout_ms,
        "heartbeat_interval_ms": settings.matyan_kafka_heartbeat_interval_ms,
    }
    if settings.matyan_kafka_rebalance_timeout_ms is not None:
        kwargs["rebalance_timeout_ms"] = settings.matyan_kafka_rebalance_timeout_ms
    return kwargs


def producer_kwargs(settings: WorkerSettings) -> dict[str, Any]:
    """Options of the control-event producer (acks from the leader; acks=0 breaks on tansu)."""
    return {**settings.kafka.connection_kwargs(), "acks": 1}
