"""The blob store's behaviour, identical on every backend: local directory, S3, Azure and GCS.

Every test here runs four times through the ``store`` fixture. The service-backed parameters use the
repo-wide session fixtures (moto, azurite, gcp-storage-emulator) and are marked ``services``. The
buckets are shared by the session, so each test works under its own random run id.
"""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from matyan_store.blobs import (
    BlobBackendType,
    BlobNotFoundError,
    BlobSettings,
    BlobStore,
    InvalidBlobKeyError,
    open_blob_store_async,
)

BACKENDS = [
    pytest.param("local", id="local"),
    pytest.param("s3", id="s3", marks=pytest.mark.services),
    pytest.param("azure", id="azure", marks=pytest.mark.services),
    pytest.param("gcs", id="gcs", marks=pytest.mark.services),
]
CLOUD_BACKENDS = BACKENDS[1:]
MIB = 1024 * 1024


def settings_for(kind: str, request: pytest.FixtureRequest, tmp_path: Path, **overrides: Any) -> BlobSettings:
    """Blob settings pointing at the given backend (its test service started on demand)."""
    values: dict[str, Any] = {"blob_backend_type": kind}
    if kind == "local":
        values["blob_local_dir"] = str(tmp_path / "blobs")
    elif kind == "s3":
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
    elif kind == "gcs":
        gcs = request.getfixturevalue("gcs_service")
        values.update(storage_emulator_host=gcs.endpoint, gcs_bucket=gcs.bucket, gcs_project=gcs.project)
    values.update(overrides)
    # from_values reads neither the environment nor .env: a developer's settings must not
    # redirect the tests to a real bucket.
    return BlobSettings.from_values(**values)


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BlobStore]:
    opened = await open_blob_store_async(settings_for(request.param, request, tmp_path))
    yield opened
    await opened.aclose()


@pytest.fixture(params=CLOUD_BACKENDS)
async def cloud_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BlobStore]:
    opened = await open_blob_store_async(settings_for(request.param, request, tmp_path))
    yield opened
    await opened.aclose()


@pytest.fixture
def run_id() -> str:
    return f"run-{uuid.uuid4().hex[:12]}"


async def test_put_get_and_stream_a_multi_megabyte_blob(store: BlobStore, run_id: str) -> None:
    data = os.urandom(5 * MIB + 12345)
    key = f"{run_id}/checkpoints/model.pt"
    await store.put(key, data, "application/octet-stream")

    assert await store.get(key) == data
    assert await store.size(key) == len(data)

    chunks = [chunk async for chunk in store.stream(key, chunk_size=MIB)]
    assert b"".join(chunks) == data
    assert len(chunks) >= 6
    assert all(0 < len(c) <= MIB for c in chunks)


async def test_open_stream_reports_a_missing_blob_before_the_first_chunk(
    store: BlobStore, run_id: str
) -> None:
    with pytest.raises(BlobNotFoundError):
        await store.open_stream(f"{run_id}/missing.bin")
    await store.put(f"{run_id}/small.txt", b"hello")
    async with await store.open_stream(f"{run_id}/small.txt", chunk_size=2) as reader:
        assert [c async for c in reader] == [b"he", b"ll", b"o"]


async def test_put_replaces_an_existing_blob(store: BlobStore, run_id: str) -> None:
    key = f"{run_id}/seq/images/1.png"
    await store.put(key, b"first version, longer", "image/png")
    await store.put(key, b"second", "image/png")
    assert await store.get(key) == b"second"
    assert await store.size(key) == 6
    assert await store.list(run_id) == [key]


async def test_exists_and_size(store: BlobStore, run_id: str) -> None:
    key = f"{run_id}/a/b.bin"
    assert not await store.exists(key)
    await store.put(key, b"x" * 1000)
    assert await store.exists(key)
    assert await store.size(key) == 1000
    # A "directory" of blobs is not itself a blob.
    assert not await store.exists(f"{run_id}/a")
    assert not await store.exists(run_id)
    await store.put(f"{run_id}/empty", b"")
    assert await store.exists(f"{run_id}/empty")
    assert await store.size(f"{run_id}/empty") == 0


async def test_missing_blobs_raise_blob_not_found(store: BlobStore, run_id: str) -> None:
    with pytest.raises(BlobNotFoundError) as info:
        await store.get(f"{run_id}/nope.bin")
    assert info.value.key == f"{run_id}/nope.bin"
    assert isinstance(info.value, FileNotFoundError)
    with pytest.raises(BlobNotFoundError):
        await store.size(f"{run_id}/nope.bin")


async def test_list_is_recursive_relative_and_respects_directory_boundaries(
    store: BlobStore, run_id: str
) -> None:
    sibling = run_id + "0"  # shares the string prefix, must never be listed or deleted with run_id
    keys = [f"{run_id}/a.txt", f"{run_id}/seq/images/0.png", f"{run_id}/seq/images/1.png", f"{run_id}/z/y/x"]
    for key in [*keys, f"{sibling}/other.txt"]:
        await store.put(key, key.encode())

    assert await store.list(run_id) == sorted(keys)
    assert await store.list(run_id + "/") == sorted(keys)
    assert await store.list(f"{run_id}/seq") == [f"{run_id}/seq/images/0.png", f"{run_id}/seq/images/1.png"]
    assert await store.list(f"{run_id}/seq/images/0.png") == []  # a blob is not a directory
    assert await store.list(f"{run_id}-never-written") == []
    everything = await store.list("")
    assert set(keys) | {f"{sibling}/other.txt"} <= set(everything)
    assert everything == sorted(everything)


async def test_delete_removes_one_blob_and_tolerates_missing_keys(store: BlobStore, run_id: str) -> None:
    await store.put(f"{run_id}/keep.bin", b"keep")
    await store.put(f"{run_id}/drop.bin", b"drop")
    await store.delete(f"{run_id}/drop.bin")
    assert not await store.exists(f"{run_id}/drop.bin")
    assert await store.list(run_id) == [f"{run_id}/keep.bin"]
    await store.delete(f"{run_id}/drop.bin")  # already gone: not an error
    await store.delete(f"{run_id}-never-written/x")
    assert await store.get(f"{run_id}/keep.bin") == b"keep"


async def test_delete_prefix_counts_what_it_deleted(store: BlobStore, run_id: str) -> None:
    sibling = run_id + "0"
    keys = [f"{run_id}/k{i}" for i in range(3)] + [f"{run_id}/deep/er/k{i}" for i in range(4)]
    await asyncio.gather(*(store.put(k, b"v") for k in [*keys, f"{sibling}/survivor"]))

    assert await store.delete_prefix(f"{run_id}/deep") == 4
    assert await store.delete_prefix(run_id) == 3
    assert await store.list(run_id) == []
    assert await store.delete_prefix(run_id) == 0
    assert await store.list(sibling) == [f"{sibling}/survivor"]
    with pytest.raises(InvalidBlobKeyError):
        await store.delete_prefix("")


async def test_delete_many_counts_and_ignores_missing_keys(store: BlobStore, run_id: str) -> None:
    await store.put(f"{run_id}/a", b"1")
    await store.put(f"artifacts/{run_id}/b", b"2")  # the reference's integration tests use such keys
    deleted = await store.delete_many([f"{run_id}/a", f"artifacts/{run_id}/b"])
    assert deleted == 2
    assert await store.list(run_id) == []
    assert await store.list(f"artifacts/{run_id}") == []
    assert await store.delete_many([]) == 0


BAD_KEYS = [
    "",
    "/etc/passwd",
    "../escape",
    "run/../../escape",
    "run//x",
    "run/./x",
    "run\\x",
    "run/x/",
    "C:/x",
]


@pytest.mark.parametrize("bad", BAD_KEYS)
async def test_keys_that_escape_the_root_are_rejected(store: BlobStore, bad: str) -> None:
    with pytest.raises(InvalidBlobKeyError):
        await store.put(bad, b"evil")
    with pytest.raises(InvalidBlobKeyError):
        await store.get(bad)
    with pytest.raises(InvalidBlobKeyError):
        await store.exists(bad)
    with pytest.raises(InvalidBlobKeyError):
        await store.size(bad)
    with pytest.raises(InvalidBlobKeyError):
        await store.delete(bad)
    with pytest.raises(InvalidBlobKeyError):
        await store.open_stream(bad)
    # As prefixes, "" means the whole store and a trailing "/" is allowed; everything else is refused.
    if bad not in ("", "run/x/"):
        with pytest.raises(InvalidBlobKeyError):
            await store.list(bad)


async def test_local_backend_writes_only_inside_its_directory(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    opened = await open_blob_store_async(settings_for("local", request, tmp_path))
    try:
        with pytest.raises(InvalidBlobKeyError):
            await opened.put("../outside.bin", b"evil")
        await opened.put("run1/inside.bin", b"ok")
        await opened.delete_prefix("run1")
    finally:
        await opened.aclose()
    assert sorted(os.listdir(tmp_path)) == ["blobs"]
    # Deleting the last blob of a run prunes the emptied run directory and no partial file is left.
    assert os.listdir(tmp_path / "blobs") == []


async def test_sync_interface_sees_the_same_blobs(store: BlobStore, run_id: str) -> None:
    sync = store.sync
    sync.put(f"{run_id}/from-sync", b"abc")
    assert await store.get(f"{run_id}/from-sync") == b"abc"
    assert b"".join(sync.iter_chunks(f"{run_id}/from-sync", chunk_size=1)) == b"abc"
    assert sync.delete_prefix(run_id) == 1
    assert store.display_uri(f"{run_id}/x").endswith(f"/{run_id}/x")
    expected_scheme = {
        BlobBackendType.LOCAL: "file://",
        BlobBackendType.S3: "s3://",
        BlobBackendType.AZURE: "azure://",
        BlobBackendType.GCS: "gs://",
    }[store.kind]
    assert store.display_uri(f"{run_id}/x").startswith(expected_scheme)


async def test_many_concurrent_operations(store: BlobStore, run_id: str) -> None:
    keys = [f"{run_id}/c/{i:03d}" for i in range(24)]
    await asyncio.gather(*(store.put(k, k.encode() * 100) for k in keys))
    values = await asyncio.gather(*(store.get(k) for k in keys))
    assert values == [k.encode() * 100 for k in keys]
    assert await store.delete_prefix(run_id) == len(keys)


async def test_calls_do_not_block_the_event_loop(
    store: BlobStore, run_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The blocking call waits for an event that only the event loop sets; if the store ran it on the
    # loop's own thread this would deadlock (and hit the wait_for guard) instead of completing.
    released = threading.Event()
    original_get = store.sync.get

    def gated_get(key: str) -> bytes:
        if not released.wait(timeout=30):
            raise AssertionError("the event loop never ran while a blob call was in flight")
        return original_get(key)

    monkeypatch.setattr(store.sync, "get", gated_get)
    await store.put(f"{run_id}/gate", b"through")
    task = asyncio.ensure_future(store.get(f"{run_id}/gate"))
    await asyncio.sleep(0)
    released.set()
    assert await asyncio.wait_for(task, timeout=60) == b"through"


def _content_type(store: BlobStore, key: str) -> str | None:
    info: dict[str, Any] = store.sync._fs.info(store.sync._backend.path(key))
    match store.kind:
        case BlobBackendType.S3:
            return info.get("ContentType")
        case BlobBackendType.GCS:
            return info.get("contentType")
        case BlobBackendType.AZURE:
            settings = info.get("content_settings")
            return None if settings is None else settings.get("content_type")
    return None


async def test_object_stores_record_the_content_type(cloud_store: BlobStore, run_id: str) -> None:
    await cloud_store.put(f"{run_id}/plot.png", b"\x89PNG...", "image/png")
    assert _content_type(cloud_store, f"{run_id}/plot.png") == "image/png"
