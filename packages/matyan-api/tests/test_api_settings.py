"""The API's settings: its variables, the shared ones it nests, and what production mode refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from matyan_api.auth.settings import AuthSettings
from matyan_api.settings import DEFAULT_CORS_ORIGINS, ApiSettings, check_api_production
from matyan_models.kafka_settings import KafkaSettings
from matyan_store.settings import ProductionSettingsError, StoreSettings

_PRODUCTION_STORE_ENV = {
    "MATYAN_STORE_ENGINE": "fdb",
    "FDB_CLUSTER_FILE": "/etc/foundationdb/fdb.cluster",
    "BLOB_BACKEND_TYPE": "gcs",
    "GCS_BUCKET": "b",
    "BLOB_URI_SECRET": "x" * 44,
}


def test_the_api_reads_its_variables_and_the_shared_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "MATYAN_ENVIRONMENT": "production",
        "KAFKA_BOOTSTRAP_SERVERS": "kafka:9093",
        "KAFKA_CONTROL_EVENTS_TOPIC": "ctl",
        "CORS_ORIGINS": '["https://ui.example"]',
        "QUERY_TIMING_ENABLED": "true",
        "PROJECT_PARAMS_CACHE_TTL": "5",
        "METRICS_ENABLED": "false",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
        "LOG_LEVEL": "debug",
    }.items():
        monkeypatch.setenv(name, value)
    settings = ApiSettings()
    assert settings.store.is_production
    assert settings.kafka.kafka_bootstrap_servers == "kafka:9093"
    assert settings.kafka.kafka_control_events_topic == "ctl"
    assert settings.cors_origins == ["https://ui.example"]
    assert settings.query_timing_enabled
    assert settings.project_params_cache_ttl == 5
    assert not settings.metrics_enabled
    assert settings.otel_exporter_otlp_endpoint == "http://collector:4318"
    assert settings.log_level == "debug"


@pytest.mark.parametrize("where", ["environment", ".env"])
def test_variables_named_after_the_nested_settings_mean_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, where: str
) -> None:
    # pydantic-settings would parse STORE and KAFKA as JSON for the nested fields and refuse to start.
    monkeypatch.chdir(tmp_path)
    odd = {"STORE": "x", "KAFKA": '{"kafka_bootstrap_servers": "evil:1"}'}
    if where == ".env":
        (tmp_path / ".env").write_text("".join(f"{k}={v}\n" for k, v in odd.items()), encoding="utf-8")
    else:
        for name, value in odd.items():
            monkeypatch.setenv(name, value)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka:9093")
    settings = ApiSettings()
    assert settings.kafka.kafka_bootstrap_servers == "kafka:9093"
    assert not settings.store.is_production
    given = KafkaSettings(kafka_bootstrap_servers="given:1")
    assert ApiSettings(kafka=given).kafka is given


def test_the_ui_switches_are_api_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    assert (ApiSettings().matyan_serve_ui, ApiSettings().matyan_ui_api_host_base) == (False, "")
    monkeypatch.setenv("MATYAN_SERVE_UI", "true")
    monkeypatch.setenv("MATYAN_UI_API_HOST_BASE", "https://ml.example")
    settings = ApiSettings()
    assert (settings.matyan_serve_ui, settings.matyan_ui_api_host_base) == (True, "https://ml.example")
    monkeypatch.setenv("MATYAN_SERVE_UI", " ")
    assert ApiSettings().matyan_serve_ui is False


def test_default_cors_origins_are_the_local_ones() -> None:
    assert ApiSettings().cors_origins == list(DEFAULT_CORS_ORIGINS)
    assert ApiSettings().production_problems() == []


@pytest.mark.parametrize("origins", [["*"], ["https://ui.example", " * "]])
def test_wildcard_cors_is_refused_in_production(monkeypatch: pytest.MonkeyPatch, origins: list[str]) -> None:
    for name, value in _PRODUCTION_STORE_ENV.items():
        monkeypatch.setenv(name, value)
    settings = ApiSettings(
        store=StoreSettings(environment="production"),
        kafka=KafkaSettings(kafka_bootstrap_servers="kafka:9092"),
        cors_origins=origins,
    )
    auth = AuthSettings(matyan_auth="enabled")
    with pytest.raises(ProductionSettingsError) as raised:
        check_api_production(settings, auth)
    assert str(raised.value).splitlines()[1:] == [
        '  - CORS_ORIGINS contains "*" while the API allows credentials: list the UI\'s origins'
    ]
    check_api_production(
        settings.model_copy(update={"store": StoreSettings(environment="development")}), auth
    )


def test_production_lists_the_store_s_kafka_s_the_api_s_and_auth_s_problems_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("BLOB_URI_SECRET", raising=False)
    monkeypatch.setenv("BLOB_BACKEND_TYPE", "local")
    monkeypatch.setenv("MATYAN_STORE_ENGINE", "lmdb")
    settings = ApiSettings(
        store=StoreSettings(environment="production"),
        kafka=KafkaSettings(kafka_bootstrap_servers="localhost:9092"),
        cors_origins=["*"],
    )
    with pytest.raises(ProductionSettingsError) as raised:
        check_api_production(settings, AuthSettings(matyan_auth=""))
    lines = str(raised.value).splitlines()
    assert lines[0] == "refusing to start in production mode with development settings:"
    named = [line.removeprefix("  - ").split(" ")[0] for line in lines[1:]]
    assert named == [
        "BLOB_URI_SECRET",
        "MATYAN_STORE_ENGINE",
        "BLOB_BACKEND_TYPE",
        "KAFKA_BOOTSTRAP_SERVERS",
        "CORS_ORIGINS",
        "MATYAN_AUTH",
    ]


def test_auth_settings_read_only_their_own_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODE", "enabled")
    monkeypatch.setenv("SESSION_TTL_S", "5")
    assert AuthSettings().mode == ""
    assert AuthSettings().session_ttl_s == 12 * 3600
    monkeypatch.setenv("MATYAN_AUTH", "enabled")
    monkeypatch.setenv("MATYAN_AUTH_SESSION_TTL_S", "60")
    assert AuthSettings().enabled
    assert AuthSettings().session_ttl_s == 60
