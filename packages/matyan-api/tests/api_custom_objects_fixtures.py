"""Fixtures of the custom-object route tests: an app over a real LMDB store and local blob store, a
known blob URI signer, and helpers that store custom objects the way the ingest worker does.

Values are what the frontier sends in ``log_custom_object`` (an image/audio value has its bytes
replaced by ``s3_key``; texts, distributions and figures are inline), written as series points with
:func:`api_search_helpers.write_series` (``write_run_series``, the ingest worker's write).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from api_runs_fixtures import BASE, api_settings, runs_blobs, runs_engine, runs_publisher
from api_search_helpers import write_series
from cryptography.fernet import Fernet
from fastapi import FastAPI

from matyan_api.app import create_app
from matyan_api.kafka_publisher import RecordingPublisher
from matyan_api.settings import ApiSettings
from matyan_store.blobs import BlobStore, BlobUriSigner
from matyan_store.engine import Engine

__all__ = [
    "BASE",
    "CustomObjectsHarness",
    "blob_value",
    "co_harness",
    "custom_objects_harness",
    "runs_blobs",
    "runs_engine",
    "runs_publisher",
    "store_blob_objects",
]

URI_TTL = 600


@dataclass
class CustomObjectsHarness:
    """The app, its client, the stores behind it and the signer its URIs are made with."""

    app: FastAPI
    client: httpx.AsyncClient
    engine: Engine
    blobs: BlobStore
    signer: BlobUriSigner


@asynccontextmanager
async def custom_objects_harness(
    engine: Engine, blobs: BlobStore, publisher: RecordingPublisher, settings: ApiSettings
) -> AsyncIterator[CustomObjectsHarness]:
    """An in-process app whose blob URIs are signed with a fresh key and a 600 s time to live."""
    app = create_app(settings, engine=engine, blobs=blobs, publisher=publisher)
    signer = BlobUriSigner(Fernet.generate_key(), default_ttl=URI_TTL)
    app.state.blob_uri_signer = signer
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield CustomObjectsHarness(app, client, engine, blobs, signer)


@pytest.fixture
async def co_harness(
    runs_engine: Engine, runs_blobs: BlobStore, runs_publisher: RecordingPublisher
) -> AsyncIterator[CustomObjectsHarness]:
    """The custom-object app over the test's stores (query timing off)."""
    async with custom_objects_harness(runs_engine, runs_blobs, runs_publisher, api_settings()) as harness:
        yield harness


def blob_value(kind: str, key: str | None, **fields: Any) -> dict[str, Any]:
    """An image/audio value as the frontier stores it: metadata plus ``s3_key`` (``None``: left out)."""
    value: dict[str, Any] = {"type": kind, **fields}
    if key is not None:
        value["s3_key"] = key
    return value


async def store_blob_objects(
    harness: CustomObjectsHarness,
    run_id: str,
    name: str,
    per_step: Sequence[int],
    *,
    kind: str = "image",
    context: dict[str, Any] | None = None,
    steps: Sequence[int] | None = None,
) -> dict[tuple[int, int], bytes]:
    """Store ``per_step[i]`` images (or audios) as a list at each step, each with its own blob.

    Returns the bytes behind every ``(step, index)``; the bytes name the object, so a test can tell
    which object a URI resolved to.
    """
    at = list(range(len(per_step))) if steps is None else list(steps)
    fmt = "png" if kind == "image" else "wav"
    contents: dict[tuple[int, int], bytes] = {}
    values: list[Any] = []
    for step, count in zip(at, per_step, strict=True):
        items = []
        for index in range(count):
            key = f"{run_id}/seq/{name}/{step}_{index}.{fmt}"
            data = f"{kind}:{name}:{step}:{index}".encode()
            await harness.blobs.put(key, data)
            contents[(step, index)] = data
            items.append(blob_value(kind, key, format=fmt, caption=f"c{step}.{index}"))
        values.append(items)
    write_series(harness.engine, run_id, name, values, steps=at, context=context, dtype=kind)
    return contents
