"""Kafka client options of both workers: security, group ids and group timeouts.

See docs/configuration.md, Kafka.

The group timeouts default to aiokafka's; tests and small deployments on brokers that form groups slowly
(tansu, docs/runbook.md, Local test services) shorten them through ``MATYAN_KAFKA_*_MS``. No idempotent
producer and no Kafka transactions are used: the exactly-once effect comes from offsets stored with the data.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from matyan_store.settings import Settings

__all__ = ["WorkerSettings", "consumer_kwargs", "producer_kwargs", "security_kwargs"]


class WorkerSettings(BaseSettings):
    """Worker-only settings (the shared ones live in :class:`matyan_store.settings.Settings`)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    matyan_ingest_group_id: str = "ingestion-workers"
    matyan_control_group_id: str = "control-workers"
    matyan_kafka_session_timeout_ms: int = Field(default=10_000, ge=100)
    matyan_kafka_heartbeat_interval_ms: int = Field(default=3_000, ge=10)
    matyan_kafka_rebalance_timeout_ms: int | None = Field(default=None, ge=100)
    matyan_ingest_delete_max_bytes: int = Field(default=1 << 20, ge=1024)
    """Bytes of a run's data one deletion transaction removes."""
    matyan_control_blob_retries: int = Field(default=5, ge=1)
    """Attempts at a blob deletion before the event is dead-lettered."""


def security_kwargs(settings: Settings) -> dict[str, Any]:
    """``security_protocol``/``sasl_*`` options, each only when set (SASL credentials only as a pair)."""
    kwargs: dict[str, Any] = {}
    if settings.kafka_security_protocol:
        kwargs["security_protocol"] = settings.kafka_security_protocol
    if settings.kafka_sasl_mechanism:
        kwargs["sasl_mechanism"] = settings.kafka_sasl_mechanism
    if settings.kafka_sasl_username and settings.kafka_sasl_password:
        kwargs["sasl_plain_username"] = settings.kafka_sasl_username
        kwargs["sasl_plain_password"] = settings.kafka_sasl_password
    if settings.kafka_security_protocol.upper() in ("SSL", "SASL_SSL"):
        # aiokafka needs an explicit SSL context for TLS; the system's default trust store.
        from aiokafka.helpers import create_ssl_context

        kwargs["ssl_context"] = create_ssl_context()
    return kwargs


def consumer_kwargs(settings: Settings, worker: WorkerSettings, group_id: str) -> dict[str, Any]:
    """Options of a manually committed consumer in ``group_id``."""
    kwargs: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "session_timeout_ms": worker.matyan_kafka_session_timeout_ms,
        "heartbeat_interval_ms": worker.matyan_kafka_heartbeat_interval_ms,
        **security_kwargs(settings),
    }
    if worker.matyan_kafka_rebalance_timeout_ms is not None:
        kwargs["rebalance_timeout_ms"] = worker.matyan_kafka_rebalance_timeout_ms
    return kwargs


def producer_kwargs(settings: Settings) -> dict[str, Any]:
    """Options of the control-event producer (acks from the leader; acks=0 breaks on tansu)."""
    return {"bootstrap_servers": settings.kafka_bootstrap_servers, "acks": 1, **security_kwargs(settings)}
