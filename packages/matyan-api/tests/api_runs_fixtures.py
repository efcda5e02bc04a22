"""Fixtures and helpers of the run-route tests (imported explicitly, not a conftest).

A real LMDB engine and a local blob store in ``tmp_path``, a recording publisher, and an httpx client
talking to the app in-process. Helpers create runs, series, tags and experiments straight in the store.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from matyan_api.app import create_app
from matyan_api.kafka_publisher import Publisher, RecordingPublisher
from matyan_api.settings import ApiSettings
from matyan_models import context_to_id
from matyan_store import entities
from matyan_store.blobs import BlobSettings, BlobStore, open_blob_store
from matyan_store.engine import Engine, Transaction, open_engine
from matyan_store.runs import RunMeta, create_run, set_context, set_run_attrs, update_run, write_run_series
from matyan_store.sequences import Point, SeriesKey

BASE = "/api/v1/rest"


def run_url(run_id: str, suffix: str = "") -> str:
    """``/api/v1/rest/runs/<quoted id>/<suffix>`` (every character of the id percent-encoded as needed)."""
    return f"{BASE}/runs/{quote(run_id, safe='')}/{suffix}"


@pytest.fixture
def runs_engine(tmp_path: Path) -> Iterator[Engine]:
    """A fresh LMDB engine (no fsync), closed after the test."""
    engine = open_engine(f"lmdb://{tmp_path / 'kv'}?sync=false&map_size={1 << 30}")
    yield engine
    engine.close()


@pytest.fixture
async def runs_blobs(tmp_path: Path) -> AsyncIterator[BlobStore]:
    """A local-directory blob store."""
    blobs = open_blob_store(
        BlobSettings.from_values(blob_backend_type="local", blob_local_dir=str(tmp_path / "blobs"))
    )
    yield blobs
    await blobs.aclose()


@pytest.fixture
def runs_publisher() -> RecordingPublisher:
    """A publisher that records what the routes publish."""
    return RecordingPublisher()


def api_settings() -> ApiSettings:
    """Settings for an in-process app: no tracing exporter, whatever the environment says."""
    return ApiSettings(otel_exporter_otlp_endpoint="")


async def app_client(engine: Engine, blobs: BlobStore, publisher: Publisher) -> httpx.AsyncClient:
    """An httpx client bound to a new app over ``engine``, ``blobs`` and ``publisher``."""
    app = create_app(api_settings(), engine=engine, blobs=blobs, publisher=publisher)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


@pytest.fixture
async def runs_client(
    runs_engine: Engine, runs_blobs: BlobStore, runs_publisher: RecordingPublisher
) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client talking to the app in-process."""
    async with await app_client(runs_engine, runs_blobs, runs_publisher) as client:
        yield client


def make_run(engine: Engine, run_id: str, **fields: Any) -> RunMeta:
    """Create a run in the store; extra ``fields`` (archived, finalized_at, duration, ...) are set after."""
    name = fields.pop("name", None)
    experiment = fields.pop("experiment", None)

    def apply(tr: Transaction) -> RunMeta:
        exp_id = None
        if experiment is not None:
            found = entities.get_experiment_by_name(tr, experiment)
            exp_id = (found or entities.create_experiment(tr, experiment)).id
        meta = create_run(tr, run_id, name=name, experiment_id=exp_id)
        return update_run(tr, run_id, **fields) if fields else meta

    return engine.transact(apply)


def log_series(
    engine: Engine,
    run_id: str,
    name: str,
    values: Sequence[Any],
    *,
    steps: Sequence[int] | None = None,
    context: dict[str, Any] | None = None,
    dtype: str = "float",
) -> SeriesKey:
    """Write a series of ``values`` (at ``steps``, default 0..n-1) with its context into the store."""
    key = SeriesKey(run_id, context_to_id(context or {}), name)
    at = list(range(len(values))) if steps is None else list(steps)

    def apply(tr: Transaction) -> None:
        set_context(tr, run_id, context or {})
        write_run_series(tr, key, [Point(s, v) for s, v in zip(at, values, strict=True)], dtype)

    engine.transact(apply)
    return key


def set_attrs(engine: Engine, run_id: str, path: tuple[Any, ...], value: Any) -> None:
    """Set the run's attributes at ``path``."""
    engine.transact(lambda tr: set_run_attrs(tr, run_id, path, value))


def read_meta(engine: Engine, run_id: str) -> RunMeta | None:
    """The run's meta including a pending deletion (``None`` if it has none)."""
    from matyan_store.runs import get_run

    return engine.read(lambda tr: get_run(tr, run_id, include_pending=True))


def assert_envelope(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Check the error envelope of ``response`` and return its body."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert body["detail"] == body["error"]["message"]
    return body
