"""Process settings: the contract's variable names, and production mode refusing development defaults."""

from __future__ import annotations

import pytest

from matyan_store.blobs import BlobSettings
from matyan_store.engine import EngineSettings
from matyan_store.settings import ProductionSettingsError, Settings, check_production, production_problems


def test_contract_names_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MATYAN_ENVIRONMENT", "production")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka:9093")
    monkeypatch.setenv("INGEST_MAX_MESSAGES_PER_TXN", "7")
    monkeypatch.setenv("CORS_ORIGINS", '["https://ui.example"]')
    settings = Settings()
    assert settings.is_production
    assert settings.kafka_bootstrap_servers == "kafka:9093"
    assert settings.ingest_max_messages_per_txn == 7
    assert settings.cors_origins == ["https://ui.example"]


def test_development_mode_accepts_defaults() -> None:
    check_production(Settings(environment="development"))


def test_production_lists_every_problem_at_once() -> None:
    settings = Settings(environment="production")
    blobs = BlobSettings.from_values(blob_backend_type="s3")
    problems = production_problems(settings, EngineSettings(matyan_store_engine="lmdb"), blobs)
    text = "\n".join(problems)
    for name in (
        "BLOB_URI_SECRET",
        "KAFKA_BOOTSTRAP_SERVERS",
        "MATYAN_STORE_ENGINE",
        "S3_ACCESS_KEY",
        "S3_ENDPOINT",
    ):
        assert name in text


def test_s3_credentials_only_checked_for_s3() -> None:
    settings = Settings(environment="production", kafka_bootstrap_servers="kafka:9092")
    blobs = BlobSettings.from_values(blob_backend_type="gcs", blob_uri_secret="x" * 44, gcs_bucket="b")
    engine = EngineSettings(matyan_store_engine="fdb", fdb_cluster_file="/etc/fdb/fdb.cluster")
    assert production_problems(settings, engine, blobs) == []


def test_azure_needs_a_connection() -> None:
    settings = Settings(environment="production", kafka_bootstrap_servers="kafka:9092")
    blobs = BlobSettings.from_values(blob_backend_type="azure", blob_uri_secret="k" * 44)
    engine = EngineSettings(matyan_store_engine="fdb", fdb_cluster_file="")
    problems = production_problems(settings, engine, blobs)
    assert any("AZURE_CONN_STR or AZURE_ACCOUNT_URL" in p for p in problems)
    assert any("FDB_CLUSTER_FILE" in p for p in problems)


def test_check_production_raises_with_the_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BLOB_URI_SECRET", raising=False)
    with pytest.raises(ProductionSettingsError, match="BLOB_URI_SECRET"):
        check_production(Settings(environment="production"))
