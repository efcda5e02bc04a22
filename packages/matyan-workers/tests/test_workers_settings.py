"""The workers' settings: their variables, Kafka's client options, and the production check at start."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
from pathlib import Path

import pytest

from matyan_models.kafka_settings import KafkaSettings
from matyan_workers.kafka_config import consumer_kwargs, producer_kwargs
from matyan_workers.settings import WorkerSettings

CLI = str(Path(sys.executable).parent / "matyan-backend")


def test_the_workers_read_their_variables_and_the_shared_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "ENVIRONMENT": "production",
        "KAFKA_BOOTSTRAP_SERVERS": "kafka:9093",
        "KAFKA_DATA_INGESTION_TOPIC": "data",
        "INGEST_BATCH_SIZE": "7",
        "INGEST_BATCH_TIMEOUT_MS": "30",
        "INGEST_MAX_MESSAGES_PER_TXN": "9",
        "INGEST_MAX_TXN_BYTES": "4096",
        "METRICS_PORT": "0",
        "MATYAN_INGEST_GROUP_ID": "g",
        "MATYAN_KAFKA_REBALANCE_TIMEOUT_MS": "500",
        "MATYAN_CONTROL_BLOB_RETRIES": "2",
    }.items():
        monkeypatch.setenv(name, value)
    settings = WorkerSettings()
    assert settings.store.is_production
    assert settings.kafka.kafka_bootstrap_servers == "kafka:9093"
    assert settings.kafka.kafka_data_ingestion_topic == "data"
    assert (settings.ingest_batch_size, settings.ingest_batch_timeout_ms) == (7, 30)
    assert (settings.ingest_max_messages_per_txn, settings.ingest_max_txn_bytes) == (9, 4096)
    assert settings.metrics_port == 0
    assert settings.matyan_ingest_group_id == "g"
    assert settings.matyan_control_blob_retries == 2
    consumer = consumer_kwargs(settings, "grp")
    assert consumer["bootstrap_servers"] == "kafka:9093"
    assert consumer["group_id"] == "grp"
    assert consumer["rebalance_timeout_ms"] == 500
    assert consumer["enable_auto_commit"] is False


def test_variables_named_after_the_nested_settings_mean_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    # pydantic-settings would parse STORE and KAFKA as JSON for the nested fields and refuse to start.
    monkeypatch.setenv("STORE", "x")
    monkeypatch.setenv("KAFKA", "x")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka:9093")
    settings = WorkerSettings()
    assert settings.kafka.kafka_bootstrap_servers == "kafka:9093"
    assert not settings.store.is_production


def test_client_options_carry_kafka_s_security_settings() -> None:
    kafka = KafkaSettings(
        kafka_bootstrap_servers="kafka:9093",
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="PLAIN",
        kafka_sasl_username="u",
        kafka_sasl_password="p",
    )
    settings = WorkerSettings(kafka=kafka)
    for options in (consumer_kwargs(settings, "g"), producer_kwargs(settings)):
        assert options["bootstrap_servers"] == "kafka:9093"
        assert options["security_protocol"] == "SASL_SSL"
        assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("u", "p")
        assert isinstance(options["ssl_context"], ssl.SSLContext)
    assert producer_kwargs(settings)["acks"] == 1


@pytest.mark.parametrize("command", ["ingest-worker", "control-worker"])
def test_a_worker_refuses_development_settings_in_production(tmp_path: Path, command: str) -> None:
    env = dict(os.environ)
    env.update(
        {
            "MATYAN_ENVIRONMENT": "production",
            "MATYAN_STORE_ENGINE": f"lmdb://{tmp_path / 'kv'}",
            "BLOB_BACKEND_TYPE": "local",
            "BLOB_LOCAL_DIR": str(tmp_path / "blobs"),
            "KAFKA_BOOTSTRAP_SERVERS": "localhost:9092",
        }
    )
    env.pop("BLOB_URI_SECRET", None)
    done = subprocess.run([CLI, command], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert f"matyan-backend {command}: refusing to start in production mode" in done.stderr
    for name in ("BLOB_URI_SECRET", "MATYAN_STORE_ENGINE", "BLOB_BACKEND_TYPE", "KAFKA_BOOTSTRAP_SERVERS"):
        assert f"  - {name}" in done.stderr
    assert not (tmp_path / "kv").exists()  # refused before opening the store
