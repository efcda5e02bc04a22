"""Kafka workers of the Matyan backend: the ingest-worker and the control-worker."""
