"""Any run id and any name round-trip: store -> info route -> update route -> info route.

Run ids are never normalised (docs/architecture.md, Wire compatibility): 32-hex, dashed UUIDs, ULIDs,
``integration-<hex>`` and unicode all work as URL path segments once percent-encoded. A ``/`` cannot
be told apart from a path separator and ``.``/``..`` are dot-segments, so those cannot name a run in
a URL at all; ``search`` and ``active`` are shadowed by literal routes (docs/http-contract.md, Routes).

Requests go through httpx's ASGI transport, which decodes the path once as a server does; Starlette's
TestClient decodes it twice, so an id such as ``%00`` would reach the app as a NUL byte.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from api_runs_fixtures import api_settings, make_run, run_url
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matyan_api.app import create_app
from matyan_api.kafka_publisher import RecordingPublisher
from matyan_store.blobs import BlobSettings, open_blob_store
from matyan_store.engine import Engine, open_engine

_NOT_IN_A_SEGMENT = {".", "..", "search", "active"}

run_ids = st.one_of(
    st.uuids().map(lambda u: u.hex),
    st.uuids().map(str),
    st.from_regex(r"[0-9A-HJKMNP-TV-Z]{26}", fullmatch=True),
    st.from_regex(r"integration-[0-9a-f]{12}", fullmatch=True),
    st.text(min_size=1, max_size=40),
).filter(lambda s: "/" not in s and s not in _NOT_IN_A_SEGMENT)
names = st.text(min_size=1, max_size=80)


@pytest.fixture(scope="module")
def shared_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """One engine for every example (hypothesis runs many examples per test call)."""
    path = tmp_path_factory.mktemp("runs-ids")
    engine = open_engine(f"lmdb://{path / 'kv'}?sync=false&map_size={1 << 30}")
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def app(shared_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    """The app over the shared engine (its resources are given, so no lifespan is needed)."""
    blob_dir = Path(tmp_path_factory.mktemp("runs-ids-blobs"))
    blobs = open_blob_store(BlobSettings.from_values(blob_backend_type="local", blob_local_dir=str(blob_dir)))
    yield create_app(api_settings(), engine=shared_engine, blobs=blobs, publisher=RecordingPublisher())
    blobs.sync.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(run_id=run_ids, name=names, new_name=names, description=st.text(max_size=80))
def test_any_run_id_and_name_round_trip(
    app: FastAPI, shared_engine: Engine, run_id: str, name: str, new_name: str, description: str
) -> None:
    make_run(shared_engine, run_id, name=name)
    asyncio.run(_round_trip(app, run_id, name, new_name, description))


async def _round_trip(app: FastAPI, run_id: str, name: str, new_name: str, description: str) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        info = await client.get(run_url(run_id, "info/"))
        assert info.status_code == 200, info.text
        assert info.json()["props"]["name"] == name

        updated = await client.put(run_url(run_id), json={"name": new_name, "description": description})
        assert updated.status_code == 200, updated.text
        assert updated.json() == {"id": run_id, "status": "OK"}

        props = (await client.get(run_url(run_id, "info/"))).json()["props"]
        assert (props["name"], props["description"]) == (new_name, description)

        tagged = await client.post(run_url(run_id, "tags/new/"), json={"tag_name": "prop"})
        assert tagged.json()["id"] == run_id
        note = await client.post(run_url(run_id, "note/"), json={"content": name})
        assert note.status_code == 201
        listed = (await client.get(run_url(run_id, "note/"))).json()
        assert note.json()["id"] in {n["id"] for n in listed}
        assert all(n["run_hash"] == run_id for n in listed)
