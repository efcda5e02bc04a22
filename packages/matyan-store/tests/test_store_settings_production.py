"""The store's settings: the contract's variable names, and production mode refusing development defaults."""

from __future__ import annotations

import pytest

from matyan_store.blobs import BlobSettings
from matyan_store.engine import EngineSettings
from matyan_store.settings import ProductionSettingsError, StoreSettings, check_production


class _Refuses:
    """A package's settings with a fixed list of problems."""

    def __init__(self, *problems: str) -> None:
        self.problems = list(problems)

    def production_problems(self) -> list[str]:
        return list(self.problems)


@pytest.mark.parametrize("name", ["MATYAN_ENVIRONMENT", "ENVIRONMENT"])
def test_contract_names_are_read(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.delenv("MATYAN_ENVIRONMENT", raising=False)
    monkeypatch.delenv("ENVIRONMENT", raising=False)
    monkeypatch.setenv(name, "Production")
    monkeypatch.setenv("MATYAN_ALLOW_EMBEDDED_IN_PRODUCTION", "true")
    monkeypatch.setenv("MATYAN_STORE_ENGINE", "fdb")
    monkeypatch.setenv("BLOB_BACKEND_TYPE", "gcs")
    settings = StoreSettings()
    assert settings.is_production
    assert settings.matyan_allow_embedded_in_production
    assert settings.engine.matyan_store_engine == "fdb"
    assert settings.blobs.blob_backend_type == "gcs"


def test_development_mode_accepts_defaults() -> None:
    check_production(StoreSettings(environment="development"), _Refuses("ignored outside production"))


def test_production_lists_every_problem_at_once() -> None:
    settings = StoreSettings(environment="production")
    blobs = BlobSettings.from_values(blob_backend_type="s3")
    problems = settings.production_problems(EngineSettings(matyan_store_engine="lmdb"), blobs)
    text = "\n".join(problems)
    for name in ("BLOB_URI_SECRET", "MATYAN_STORE_ENGINE", "S3_ACCESS_KEY", "S3_SECRET_KEY", "S3_ENDPOINT"):
        assert name in text
    assert "KAFKA" not in text


def test_s3_credentials_only_checked_for_s3() -> None:
    settings = StoreSettings(environment="production")
    blobs = BlobSettings.from_values(blob_backend_type="gcs", blob_uri_secret="x" * 44, gcs_bucket="b")
    engine = EngineSettings(matyan_store_engine="fdb", fdb_cluster_file="/etc/fdb/fdb.cluster")
    assert settings.production_problems(engine, blobs) == []


def test_embedded_engine_and_local_blobs_when_allowed() -> None:
    blobs = BlobSettings.from_values(blob_backend_type="local", blob_uri_secret="x" * 44)
    engine = EngineSettings(matyan_store_engine="lmdb")
    allowed = StoreSettings(environment="production", matyan_allow_embedded_in_production=True)
    assert allowed.production_problems(engine, blobs) == []
    refused = StoreSettings(environment="production").production_problems(engine, blobs)
    assert [p.split(" ")[0] for p in refused] == ["MATYAN_STORE_ENGINE", "BLOB_BACKEND_TYPE"]


def test_azure_needs_a_connection() -> None:
    settings = StoreSettings(environment="production")
    blobs = BlobSettings.from_values(blob_backend_type="azure", blob_uri_secret="k" * 44)
    engine = EngineSettings(matyan_store_engine="fdb", fdb_cluster_file="")
    problems = settings.production_problems(engine, blobs)
    assert any("AZURE_CONN_STR or AZURE_ACCOUNT_URL" in p for p in problems)
    assert any("FDB_CLUSTER_FILE" in p for p in problems)


def test_check_production_lists_the_store_and_every_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BLOB_URI_SECRET", raising=False)
    monkeypatch.setenv("BLOB_BACKEND_TYPE", "local")
    monkeypatch.setenv("MATYAN_STORE_ENGINE", "lmdb")
    store = StoreSettings(environment="production")
    with pytest.raises(ProductionSettingsError) as raised:
        check_production(store, _Refuses("A is wrong"), _Refuses(), _Refuses("B is wrong", "C is wrong"))
    lines = str(raised.value).splitlines()
    assert lines[0] == "refusing to start in production mode with development settings:"
    assert all(line.startswith("  - ") for line in lines[1:])
    listed = [line.removeprefix("  - ") for line in lines[1:]]
    assert listed == [*store.production_problems(), "A is wrong", "B is wrong", "C is wrong"]
    assert any(p.startswith("BLOB_URI_SECRET") for p in listed)


def test_check_production_passes_when_nothing_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "MATYAN_STORE_ENGINE": "fdb",
        "FDB_CLUSTER_FILE": "/etc/foundationdb/fdb.cluster",
        "BLOB_BACKEND_TYPE": "gcs",
        "GCS_BUCKET": "b",
        "BLOB_URI_SECRET": "x" * 44,
    }.items():
        monkeypatch.setenv(name, value)
    store = StoreSettings(environment="production")
    check_production(store, _Refuses())
    with pytest.raises(ProductionSettingsError, match="only this"):
        check_production(store, _Refuses("only this"))
