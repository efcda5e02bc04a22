"""Prometheus metrics of the workers; names, labels and buckets are contract.

See docs/runbook.md, Health and metrics.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

__all__ = [
    "CONTROL_CONSUMED",
    "CONTROL_DURATION",
    "CONTROL_ERRORS",
    "CONTROL_PROCESSED",
    "INGESTION_BATCH_DURATION",
    "INGESTION_BATCH_SIZE",
    "INGESTION_CONSUMED",
    "INGESTION_ERRORS",
    "INGESTION_FDB_RETRIES",
    "INGESTION_OFFSET_RESETS",
    "INGESTION_PROCESSED",
    "INGESTION_TXN_BYTES",
]

_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

INGESTION_CONSUMED = Counter("matyan_ingestion_messages_consumed", "Messages fetched from data-ingestion")
INGESTION_PROCESSED = Counter(
    "matyan_ingestion_messages_processed", "Messages applied (or dropped for a deleted run)", ["message_type"]
)
INGESTION_ERRORS = Counter(
    "matyan_ingestion_processing_errors",
    "Messages dead-lettered, by error type, and transactions split for size",
    ["error_type"],
)
INGESTION_BATCH_SIZE = Histogram(
    "matyan_ingestion_batch_size", "Records per fetched batch", buckets=(1, 5, 10, 25, 50, 100, 200, 500)
)
INGESTION_BATCH_DURATION = Histogram(
    "matyan_ingestion_batch_processing_seconds", "Time to apply and commit one batch", buckets=_SECONDS
)
INGESTION_TXN_BYTES = Histogram(
    "matyan_ingestion_txn_estimated_bytes",
    "Bytes written per store transaction",
    buckets=(100_000, 500_000, 1_000_000, 2_000_000, 4_000_000, 8_000_000, 10_000_000),
)
INGESTION_FDB_RETRIES = Counter("matyan_ingestion_fdb_retries", "Store transaction attempts beyond the first")
INGESTION_OFFSET_RESETS = Counter(
    "matyan_ingestion_offset_resets",
    "Partitions halted because their log went back below the stored offset",
    ["topic", "partition"],
)

CONTROL_CONSUMED = Counter("matyan_control_events_consumed", "Events fetched from control-events")
CONTROL_PROCESSED = Counter("matyan_control_events_processed", "Events handled", ["event_type"])
CONTROL_ERRORS = Counter(
    "matyan_control_processing_errors", "Events that failed, by error type", ["error_type"]
)
CONTROL_DURATION = Histogram(
    "matyan_control_processing_duration_seconds", "Time to handle one event", buckets=_SECONDS
)
