"""The workers' settings: ingestion batching, consumer groups, metrics and tracing, plus those they share.

:class:`WorkerSettings` also carries the store's settings (:attr:`WorkerSettings.store`) and Kafka's
(:attr:`WorkerSettings.kafka`), each read from the same environment. The contract's names (``INGEST_*``,
``METRICS_PORT``, ...) and our additions (``MATYAN_*``) have no prefix, case-insensitive, ``.env`` read.

The consumer-group timeouts default to aiokafka's; tests and small deployments on brokers that form
groups slowly (tansu) shorten them through ``MATYAN_KAFKA_*_MS``.
"""

from __future__ import annotations

from pydantic import Field

from matyan_models.kafka_settings import KafkaSettings
from matyan_store.settings import ProcessSettings, StoreSettings, check_production

__all__ = ["WorkerSettings", "check_worker_production"]


class WorkerSettings(ProcessSettings):
    """What the ingest and control workers read (see the module docstring)."""

    store: StoreSettings = Field(default_factory=StoreSettings)
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)

    log_level: str = "INFO"
    metrics_port: int = Field(default=9090, ge=0, le=65535)
    otel_exporter_otlp_endpoint: str = ""

    # Large fetches: a fetch's single-point metrics are written a series at a time (docs/configuration.md).
    ingest_batch_size: int = Field(default=10_000, ge=1)
    ingest_batch_timeout_ms: int = Field(default=100, ge=0)
    ingest_max_messages_per_txn: int = Field(default=100, ge=1)
    ingest_max_txn_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)

    matyan_ingest_group_id: str = "ingestion-workers"
    matyan_control_group_id: str = "control-workers"
    matyan_kafka_session_timeout_ms: int = Field(default=10_000, ge=100)
    matyan_kafka_heartbeat_interval_ms: int = Field(default=3_000, ge=10)
    matyan_kafka_rebalance_timeout_ms: int | None = Field(default=None, ge=100)
    matyan_ingest_delete_max_bytes: int = Field(default=1 << 20, ge=1024)
    """Bytes of a run's data one deletion transaction removes."""
    matyan_control_blob_retries: int = Field(default=5, ge=1)
    """Attempts at a blob deletion before the event is dead-lettered."""


def check_worker_production(settings: WorkerSettings) -> None:
    """:func:`~matyan_store.settings.check_production` over the store's and Kafka's settings.

    The workers' own settings have no development default that production mode refuses.
    """
    check_production(settings.store, settings.kafka)
