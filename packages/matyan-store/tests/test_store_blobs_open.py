"""open_blob_store fails at open time with one clear BlobStoreOpenError, never later with a trace."""

from __future__ import annotations

import base64
import socket
from pathlib import Path
from typing import Any

import pytest

from matyan_store.blobs import (
    BlobBackendType,
    BlobSettings,
    BlobStoreOpenError,
    open_blob_store,
    open_blob_store_async,
    open_sync_blob_store,
)


def _settings(**values: Any) -> BlobSettings:
    # Neither the environment nor a .env file: only what the test says.
    return BlobSettings.from_values(**values)


def _closed_port() -> int:
    # Bind then release: nothing listens on the port afterwards, so connections are refused.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_unknown_backend_type_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(BlobStoreOpenError, match=r"unknown BLOB_BACKEND_TYPE 'ftp'.*local, s3, gcs, azure"):
        open_blob_store(_settings(blob_backend_type="ftp", blob_local_dir=str(tmp_path)))


def test_backend_type_is_case_insensitive(tmp_path: Path) -> None:
    store = open_sync_blob_store(_settings(blob_backend_type=" LOCAL ", blob_local_dir=str(tmp_path)))
    assert store.kind is BlobBackendType.LOCAL


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"blob_backend_type": "s3", "s3_bucket": ""}, "S3_BUCKET"),
        ({"blob_backend_type": "gcs", "gcs_bucket": " "}, "GCS_BUCKET"),
        ({"blob_backend_type": "azure", "azure_container": "", "azure_conn_str": "x"}, "AZURE_CONTAINER"),
        (
            {"blob_backend_type": "azure", "azure_conn_str": "", "azure_account_url": ""},
            "AZURE_CONN_STR or AZURE_ACCOUNT_URL",
        ),
        ({"blob_backend_type": "azure", "azure_account_url": "not a url"}, "AZURE_ACCOUNT_URL"),
        ({"blob_backend_type": "s3", "s3_bucket": "bucket/with/path"}, "S3_BUCKET"),
    ],
)
def test_missing_bucket_or_container_settings(values: dict[str, Any], message: str) -> None:
    with pytest.raises(BlobStoreOpenError, match=message):
        open_blob_store(_settings(**values))


def test_unusable_local_directory(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"")
    with pytest.raises(BlobStoreOpenError, match="cannot be created"):
        open_blob_store(_settings(blob_backend_type="local", blob_local_dir=str(blocker / "blobs")))


def test_local_directory_defaults_under_the_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BLOB_BACKEND_TYPE", "local")
    monkeypatch.setenv("MATYAN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("BLOB_LOCAL_DIR", raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env file
    store = open_sync_blob_store(BlobSettings())
    assert store.root == (tmp_path / "data" / "blobs").resolve().as_posix()
    store.put("r/x", b"1")
    assert (tmp_path / "data" / "blobs" / "r" / "x").read_bytes() == b"1"


def test_settings_read_the_reference_variable_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {
        "BLOB_BACKEND_TYPE": "s3",
        "S3_ENDPOINT": "http://s3.example:9000",
        "S3_ACCESS_KEY": "ak",
        "S3_SECRET_KEY": "sk",
        "S3_BUCKET": "b1",
        "S3_REGION": "eu-west-1",
        "GCS_BUCKET": "g1",
        "AZURE_CONN_STR": "cs",
        "AZURE_ACCOUNT_URL": "https://acct.blob.core.windows.net",
        "AZURE_CONTAINER": "c1",
        "BLOB_URI_SECRET": "secret",
        "STORAGE_EMULATOR_HOST": "localhost:9023",
    }
    for name, value in env.items():
        monkeypatch.setenv(name.lower() if name == "S3_REGION" else name, value)  # matching ignores case
    monkeypatch.chdir(tmp_path)  # no stray .env file
    s = BlobSettings()
    assert (s.blob_backend_type, s.s3_endpoint, s.s3_access_key, s.s3_secret_key) == (
        "s3",
        *list(env.values())[1:4],
    )
    assert (s.s3_bucket, s.s3_region, s.gcs_bucket) == ("b1", "eu-west-1", "g1")
    assert (s.azure_conn_str, s.azure_account_url, s.azure_container) == (
        "cs",
        env["AZURE_ACCOUNT_URL"],
        "c1",
    )
    assert (s.blob_uri_secret, s.storage_emulator_host) == ("secret", "localhost:9023")
    assert "'sk'" not in repr(s)
    assert "secret" not in repr(s)


def test_from_values_ignores_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("S3_BUCKET", "from-env")
    monkeypatch.setenv("BLOB_BACKEND_TYPE", "azure")
    explicit = BlobSettings.from_values(s3_region="ap-south-1")
    assert (explicit.s3_bucket, explicit.blob_backend_type, explicit.s3_region) == (
        "matyan-artifacts",
        "local",
        "ap-south-1",
    )
    assert BlobSettings().s3_bucket == "from-env"


def test_unreachable_s3_endpoint() -> None:
    settings = _settings(
        blob_backend_type="s3",
        s3_endpoint=f"http://127.0.0.1:{_closed_port()}",
        s3_bucket="matyan-artifacts",
        blob_open_timeout_seconds=20,
    )
    with pytest.raises(
        BlobStoreOpenError, match=r"cannot open blob store: S3 bucket 'matyan-artifacts' at S3_ENDPOINT"
    ):
        open_blob_store(settings)


def test_unreachable_gcs_emulator() -> None:
    # gcsfs retries refused connections with backoff for about half a minute; the open deadline
    # turns that into one error after BLOB_OPEN_TIMEOUT_SECONDS.
    settings = _settings(
        blob_backend_type="gcs",
        storage_emulator_host=f"http://127.0.0.1:{_closed_port()}",
        gcs_bucket="matyan-artifacts",
        blob_open_timeout_seconds=2,
    )
    with pytest.raises(BlobStoreOpenError, match=r"cannot open blob store: GCS bucket 'matyan-artifacts'"):
        open_blob_store(settings)


def test_unreachable_azure_endpoint() -> None:
    key = base64.b64encode(b"k" * 64).decode()
    conn = (
        f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={key};"
        f"BlobEndpoint=http://127.0.0.1:{_closed_port()}/devstoreaccount1;"
    )
    settings = _settings(blob_backend_type="azure", azure_conn_str=conn, blob_open_timeout_seconds=2)
    with pytest.raises(
        BlobStoreOpenError, match=r"cannot open blob store: Azure container 'matyan-artifacts'"
    ):
        open_blob_store(settings)


def test_malformed_azure_connection_string() -> None:
    with pytest.raises(BlobStoreOpenError, match=r"BLOB_BACKEND_TYPE=azure|Azure container"):
        open_blob_store(
            _settings(blob_backend_type="azure", azure_conn_str="this is not a connection string")
        )


# -- against the test services ------------------------------------------------------------------


def _service_settings(kind: str, request: pytest.FixtureRequest, **overrides: Any) -> BlobSettings:
    values: dict[str, Any] = {"blob_backend_type": kind, "blob_open_timeout_seconds": 20}
    if kind == "s3":
        s3 = request.getfixturevalue("s3_service")
        values.update(
            s3_endpoint=s3.endpoint_url,
            s3_bucket=s3.bucket,
            s3_access_key=s3.access_key,
            s3_secret_key=s3.secret_key,
            s3_region=s3.region,
        )
    elif kind == "azure":
        az = request.getfixturevalue("azure_service")
        values.update(azure_conn_str=az.connection_string, azure_container=az.container)
    else:
        gcs = request.getfixturevalue("gcs_service")
        values.update(storage_emulator_host=gcs.endpoint, gcs_bucket=gcs.bucket, gcs_project=gcs.project)
    values.update(overrides)
    return _settings(**values)


SERVICES = [pytest.param(k, id=k, marks=pytest.mark.services) for k in ("s3", "azure", "gcs")]
_MISSING = {"s3": "s3_bucket", "azure": "azure_container", "gcs": "gcs_bucket"}


@pytest.mark.parametrize("kind", SERVICES)
async def test_missing_bucket_or_container(kind: str, request: pytest.FixtureRequest) -> None:
    settings = _service_settings(kind, request, **{_MISSING[kind]: "no-such-bucket-7f3a"})
    with pytest.raises(BlobStoreOpenError, match=r"'no-such-bucket-7f3a'.* does not exist"):
        await open_blob_store_async(settings)


@pytest.mark.parametrize("kind", SERVICES)
async def test_existing_bucket_opens(kind: str, request: pytest.FixtureRequest) -> None:
    store = await open_blob_store_async(_service_settings(kind, request))
    try:
        assert store.kind.value == kind
    finally:
        await store.aclose()


@pytest.mark.services
def test_azure_account_url_with_key(request: pytest.FixtureRequest) -> None:
    az = request.getfixturevalue("azure_service")
    settings = _settings(
        blob_backend_type="azure",
        azure_account_url=az.blob_endpoint,
        azure_account_key=az.account_key,
        azure_container=az.container,
    )
    store = open_sync_blob_store(settings)
    store.put("url-and-key/x", b"ok")
    assert store.get("url-and-key/x") == b"ok"
    assert store.delete_prefix("url-and-key") == 1


@pytest.mark.services
def test_azure_bad_credentials(request: pytest.FixtureRequest) -> None:
    az = request.getfixturevalue("azure_service")
    wrong_key = base64.b64encode(b"not the account key, but valid base64").decode()
    settings = _settings(
        blob_backend_type="azure",
        azure_account_url=az.blob_endpoint,
        azure_account_key=wrong_key,
        azure_container=az.container,
        blob_open_timeout_seconds=20,
    )
    with pytest.raises(BlobStoreOpenError, match="denied"):
        open_blob_store(settings)
