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

from matyan_api.routes.runs_artifacts import content_disposition, safe_content_type, zip_entry_name
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


async def test_a_run_serves_only_blobs_under_its_own_prefix(
    runs_client: httpx.AsyncClient, runs_engine: Engine, runs_blobs: BlobStore
) -> None:
    await _with_artifacts(runs_engine, runs_blobs)
    make_run(runs_engine, "r2")
    await runs_blobs.put("r2/own.txt", b"mine")
    set_attrs(
        runs_engine,
        "r2",
        ("__blobs__",),
        {
            "own.txt": {"s3_key": "r2/own.txt"},
            "stolen.pt": {"s3_key": "r1/model.pt"},
            "prefix-twin.txt": {"s3_key": "r2x/own.txt"},
        },
    )
    await runs_blobs.put("r2x/own.txt", b"not r2's")
    url = run_url("r2", "artifacts/download/")
    assert (await runs_client.get(url, params={"path": "own.txt"})).content == b"mine"
    assert_envelope(await runs_client.get(url, params={"path": "stolen.pt"}), 404, "not_found")
    assert_envelope(await runs_client.get(url, params={"path": "prefix-twin.txt"}), 404, "not_found")
    response = await runs_client.get(run_url("r2", "artifacts/download-all/"))
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert archive.namelist() == ["own.txt"]


def test_zip_entry_names_stay_below_the_extraction_directory() -> None:
    taken: set[str] = set()
    names = [
        zip_entry_name(p, taken)
        for p in [
            "../../x",
            "/abs/x",
            "C:\\win\\x",
            "C:",
            "",
            "..",
            "x",
            "x",
            "a/b.tar.gz",
            "a/b.tar.gz",
            "c\x00d",
        ]
    ]
    assert names == [
        "x",
        "abs/x",
        "win/x",
        "artifact",
        "artifact (2)",
        "artifact (3)",
        "x (2)",
        "x (3)",
        "a/b.tar.gz",
        "a/b.tar (2).gz",
        "c_d",
    ]
    assert taken == set(names)


async def test_download_all_sanitizes_and_disambiguates_entry_names(
    runs_client: httpx.AsyncClient, runs_engine: Engine, runs_blobs: BlobStore
) -> None:
    make_run(runs_engine, "z")
    refs: dict[str, dict[str, str]] = {}
    for i, path in enumerate(["../../x", "/abs/x", "x", "C:/y", "a//./b"]):
        key = f"z/blob{i}"
        await runs_blobs.put(key, f"b{i}".encode())
        refs[path] = {"s3_key": key}
    set_attrs(runs_engine, "z", ("__blobs__",), refs)
    response = await runs_client.get(run_url("z", "artifacts/download-all/"))
    assert response.status_code == 200
    assert response.headers["x-content-type-options"] == "nosniff"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}
    # Paths are listed sorted: "../../x", "/abs/x", "C:/y", "a//./b", "x".
    assert contents == {"x": b"b0", "abs/x": b"b1", "y": b"b3", "a/b": b"b4", "x (2)": b"b2"}


def test_safe_content_type() -> None:
    assert safe_content_type("text/plain; charset=utf-8") == "text/plain; charset=utf-8"
    assert safe_content_type('a/b; q="x y"') == 'a/b; q="x y"'
    for bad in [None, "", "text/html\r\nSet-Cookie: a=b", "html", 'a/b; q="\u65e5"', "a /b"]:
        assert safe_content_type(bad) == "application/octet-stream"


async def test_artifacts_are_attachments_that_browsers_do_not_sniff(
    runs_client: httpx.AsyncClient, runs_engine: Engine, runs_blobs: BlobStore
) -> None:
    make_run(runs_engine, "h")
    await runs_blobs.put("h/page.html", b"<script>alert(1)</script>")
    await runs_blobs.put("h/crlf.bin", b"bytes")
    set_attrs(
        runs_engine,
        "h",
        ("__blobs__",),
        {
            "page.html": {"s3_key": "h/page.html", "content_type": "text/html"},
            "crlf.bin": {"s3_key": "h/crlf.bin", "content_type": "text/html\r\nX-Injected: 1"},
            "dir/..": {"s3_key": "h/crlf.bin"},
        },
    )
    url = run_url("h", "artifacts/download/")
    page = await runs_client.get(url, params={"path": "page.html"})
    assert page.status_code == 200
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["content-disposition"] == 'attachment; filename="page.html"'
    crlf = await runs_client.get(url, params={"path": "crlf.bin"})
    assert crlf.status_code == 200
    assert crlf.content == b"bytes"
    assert crlf.headers["content-type"] == "application/octet-stream"
    assert "x-injected" not in crlf.headers
    odd = await runs_client.get(url, params={"path": "dir/.."})
    assert odd.headers["content-disposition"] == 'attachment; filename="dir"'
