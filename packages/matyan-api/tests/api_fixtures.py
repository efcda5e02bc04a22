"""Fixtures for the API tests: the real LMDB store and local blob store in tmp_path, a recording publisher.

Import what you need as a top-level module: ``from api_fixtures import api, ApiHarness``. ``api`` yields
an :class:`ApiHarness` whose ``client`` is a started FastAPI TestClient (lifespan run).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import TypeAdapter
from starlette.routing import Match

from matyan_api.app import create_app
from matyan_api.kafka_publisher import RecordingPublisher
from matyan_api.settings import ApiSettings
from matyan_models.kafka_settings import KafkaSettings
from matyan_store.blobs import BlobSettings, BlobStore, open_blob_store
from matyan_store.engine import Engine, open_engine

REST = "/api/v1/rest"


@dataclass
class ApiHarness:
    """One app over a fresh store, with handles on what the routes touch."""

    app: FastAPI
    client: TestClient
    engine: Engine
    blobs: BlobStore
    publisher: RecordingPublisher
    settings: ApiSettings


def make_settings(kafka: KafkaSettings | None = None, **overrides: Any) -> ApiSettings:
    """Settings for tests: explicit values over the environment; Kafka at a closed port unless given."""
    return ApiSettings(kafka=kafka or KafkaSettings(kafka_bootstrap_servers="127.0.0.1:1"), **overrides)


def open_test_stores(tmp_path: Path) -> tuple[Engine, BlobStore]:
    """A fresh LMDB engine and local blob store under ``tmp_path``."""
    engine = open_engine(f"lmdb://{tmp_path / 'kv'}?sync=false")
    blobs = open_blob_store(
        BlobSettings.from_values(blob_backend_type="local", blob_local_dir=str(tmp_path / "blobs"))
    )
    return engine, blobs


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiHarness]:
    """A started app on a fresh store, with a recording publisher."""
    engine, blobs = open_test_stores(tmp_path)
    publisher = RecordingPublisher()
    settings = make_settings()
    app = create_app(settings, engine=engine, blobs=blobs, publisher=publisher)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield ApiHarness(app, client, engine, blobs, publisher, settings)
    engine.close()


def make_run(
    engine: Engine,
    run_id: str,
    *,
    name: str | None = None,
    experiment_id: str | None = None,
    created_at: float | None = None,
    attrs: dict[str, Any] | None = None,
    **meta: Any,
) -> None:
    """Create a run directly in the store, optionally with attributes and meta changes."""
    from matyan_store import runs

    def write(tr: Any) -> None:
        runs.create_run(tr, run_id, name=name, experiment_id=experiment_id, created_at=created_at)
        if attrs is not None:
            runs.set_run_attrs(tr, run_id, (), attrs)
        if meta:
            runs.update_run(tr, run_id, **meta)

    engine.transact(write)


def wire(body: Any) -> bytes:
    """``body`` as the routes render JSON: compact, UTF-8, no NaN."""
    return json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def declared_model(app: FastAPI, method: str, url: str) -> TypeAdapter[Any]:
    """The response model the route serving ``method url`` declares."""
    scope = {"type": "http", "method": method, "path": url.split("?", 1)[0]}
    for route in app.routes:
        if isinstance(route, APIRoute) and route.matches(scope)[0] is Match.FULL:
            assert route.response_model is not None, url
            return TypeAdapter(route.response_model)
    raise AssertionError(f"no route for {method} {url}")
