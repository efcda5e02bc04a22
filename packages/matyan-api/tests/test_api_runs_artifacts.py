"""Artifact downloads: one file as raw bytes, all files as a zip (docs/http-contract.md, Routes)."""

from __future__ import annotations

import io
import zipfile

import httpx
from api_runs_fixtures import (
    assert_envelope,
    make_run,
    run_url,
    runs_blobs,
    runs_client,
    runs_engine,
    runs_publisher,
    set_attrs,
)

from matyan_api.routes.runs_artifacts import content_disposition
from matyan_store.blobs import BlobStore
from matyan_store.engine import Engine

__all__ = ["runs_blobs", "runs_client", "runs_engine", "runs_publisher"]

BIG = bytes(range(256)) * 9000  # 2.3 MB: streamed in several chunks of the blob store (1 MiB each)


async def _with_artifacts(engine: Engine, blobs: BlobStore) -> None:
    make_run(engine, "r1")
    await blobs.put("r1/model.pt", BIG)
    await blobs.put("r1/logs/train.txt", b"hello")
    await blobs.put("r1/seq/images/0.png", b"png")
    set_attrs(
        engine,
        "r1",
        ("__blobs__",),
        {
            "model.pt": {"s3_key": "r1/model.pt", "content_type": "application/x-torch"},
            "logs/train.txt": {"s3_key": "r1/logs/train.txt", "content_type": "text/plain"},
            "seq/images/0.png": {"s3_key": "r1/seq/images/0.png", "content_type": "image/png"},
            "gone.bin": {"s3_key": "r1/gone.bin"},
        },
    )


def test_content_disposition() -> None:
    assert content_disposition("model.pt") == 'attachment; filename="model.pt"'
    header = content_disposition('résumé "v2".txt')
    assert header.startswith("attachment; filename=\"r_sum_ _v2_.txt\"; filename*=UTF-8''")
    assert header.isascii()


async def test_download_one(
    runs_client: httpx.AsyncClient, runs_engine: Engine, runs_blobs: BlobStore
) -> None:
    await _with_artifacts(runs_engine, runs_blobs)
    response = await runs_client.get(run_url("r1", "artifacts/download"), params={"path": "model.pt"})
    assert response.status_code == 200
    assert response.content == BIG
    assert response.headers["content-type"] == "application/x-torch"
    assert response.headers["content-disposition"] == 'attachment; filename="model.pt"'
    nested = await runs_client.get(run_url("r1", "artifacts/download/"), params={"path": "logs/train.txt"})
    assert nested.content == b"hello"
    assert nested.headers["content-disposition"] == 'attachment; filename="train.txt"'


async def test_download_one_errors(
    runs_client: httpx.AsyncClient, runs_engine: Engine, runs_blobs: BlobStore
) -> None:
    await _with_artifacts(runs_engine, runs_blobs)
    url = run_url("r1", "artifacts/download/")
    assert_envelope(await runs_client.get(url, params={"path": "nope"}), 404, "not_found")
    assert_envelope(await runs_client.get(url, params={"path": "gone.bin"}), 404, "not_found")
    assert_envelope(await runs_client.get(url, params={"path": "seq/images/0.png"}), 404, "not_found")
    assert_envelope(await runs_client.get(url), 422, "validation_error")
    missing_run = run_url("r2", "artifacts/download/")
    assert_envelope(await runs_client.get(missing_run, params={"path": "model.pt"}), 404, "not_found")


async def test_download_all_zip(
    runs_client: httpx.AsyncClient, runs_engine: Engine, runs_blobs: BlobStore
) -> None:
    await _with_artifacts(runs_engine, runs_blobs)
    response = await runs_client.get(run_url("r1", "artifacts/download-all/"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"] == 'attachment; filename="r1-artifacts.zip"'
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert archive.testzip() is None
        infos = {i.filename: i for i in archive.infolist()}
        assert set(infos) == {"logs/train.txt", "model.pt"}
        assert archive.read("model.pt") == BIG
        assert archive.read("logs/train.txt") == b"hello"
        for info in infos.values():
            assert info.compress_type == zipfile.ZIP_STORED
            assert (info.external_attr >> 16) & 0o777 == 0o600


async def test_download_all_errors(runs_client: httpx.AsyncClient, runs_engine: Engine) -> None:
    assert_envelope(await runs_client.get(run_url("nope", "artifacts/download-all/")), 404, "not_found")
    make_run(runs_engine, "empty")
    assert_envelope(await runs_client.get(run_url("empty", "artifacts/download-all/")), 404, "not_found")
