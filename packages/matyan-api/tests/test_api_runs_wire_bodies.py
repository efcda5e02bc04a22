"""The JSON bodies of the run routes, byte for byte, for one seeded run.

Each expected body is built from the seeded data (and the ids and times the store gave it) and rendered
the way the routes always rendered JSON (compact, UTF-8, no NaN), so key order, ``null`` versus absent
keys and ``3`` versus ``3.0`` are all pinned. Every body must also fit the response model its route
declares: validated by that model and rendered again, it comes out unchanged.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from api_fixtures import declared_model, wire
from api_runs_fixtures import (
    BASE,
    api_settings,
    log_series,
    make_run,
    run_url,
    runs_blobs,
    runs_engine,
    runs_publisher,
    set_attrs,
)
from fastapi import FastAPI

from matyan_api.app import create_app
from matyan_api.kafka_publisher import RecordingPublisher
from matyan_models import context_to_id
from matyan_store import entities
from matyan_store.blobs import BlobStore
from matyan_store.engine import Engine
from matyan_store.runs import RunMeta, add_run_tag, get_run

__all__ = ["runs_blobs", "runs_engine", "runs_publisher"]

RUN = "5eed" * 8
OTHER = "0de1" * 8
# Keys in sorted order at every level, so the expectation does not depend on how attrs are stored.
HPARAMS: dict[str, Any] = {
    "big": 10**20,
    "flag": True,
    "float": 2.0,
    "int": 3,
    "list": [1, 2.5, None, "x"],
    "nan": math.nan,
    "neg_zero": -0.0,
    "nested": {"deep": {"lr": 1e-05}},
    "none": None,
    "text": "é ✓ \u2028",
}
SYSTEM = {"cpu": 4}
BLOB_REFS = {
    "ckpt/model.bin": {"s3_key": f"runs/{RUN}/ckpt/model.bin", "content_type": "application/octet-stream"},
    "notes.txt": {"blob_key": f"runs/{RUN}/notes.txt"},
    "seq/images/0": {"s3_key": f"runs/{RUN}/seq/0"},
}
# name -> (context, dtype, values); the values at steps 0, 1, ...
SERIES: dict[str, tuple[dict[str, Any], str, list[Any]]] = {
    "loss": ({"subset": "train"}, "float", [0.5, 0.25, math.nan, 1e-07, 3]),
    "acc": ({}, "int", [1, 2, 3]),
    "diverged": ({}, "float", [1.0, math.inf]),
    "samples": ({}, "image", [{"w": 1}]),
    "caption": ({"lang": "fr"}, "text", ["bonjour"]),
    "logs": ({}, "logs", ["a terminal line"]),
}
BUCKETS = ("metric", "images", "texts", "distributions", "audios", "figures")
BUCKET_OF_DTYPE = {"float": "metric", "int": "metric", "image": "images", "text": "texts"}


def number(value: Any) -> float | None:
    """A stored value as the JSON routes show it: a finite float, else null."""
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def finite_only(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite_only(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite_only(v) for v in value]
    return value


@dataclass
class Seeded:
    app: FastAPI
    client: httpx.AsyncClient
    engine: Engine
    blobs: BlobStore
    meta: RunMeta
    experiment: entities.Experiment
    tag: entities.Tag

    async def call(self, method: str, url: str, expected: Any, *, status: int = 200, **kw: Any) -> None:
        response = await self.client.request(method, url, **kw)
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/json"
        assert response.content == wire(expected)
        model = declared_model(self.app, method, url)
        assert wire(model.dump_python(model.validate_json(response.content), mode="json")) == response.content


@pytest.fixture
async def seeded(
    runs_engine: Engine, runs_blobs: BlobStore, runs_publisher: RecordingPublisher
) -> AsyncIterator[Seeded]:
    engine = runs_engine
    make_run(engine, RUN, name="ünïcode run", experiment="exp-a", duration=12)
    make_run(engine, OTHER)
    set_attrs(engine, RUN, (), {"__blobs__": BLOB_REFS, "__system_params": SYSTEM, "hp": HPARAMS})
    for name, (context, dtype, values) in SERIES.items():
        log_series(engine, RUN, name, values, context=context, dtype=dtype)

    def tag(tr: Any) -> entities.Tag:
        created = entities.create_tag(tr, "best", color="#f00", description=None)
        add_run_tag(tr, RUN, created.id)
        return created

    created_tag = engine.transact(tag)
    meta = engine.read(lambda tr: get_run(tr, RUN))
    experiment = engine.read(lambda tr: entities.get_experiment_by_name(tr, "exp-a"))
    assert meta is not None
    assert experiment is not None
    app = create_app(api_settings(), engine=engine, blobs=runs_blobs, publisher=runs_publisher)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield Seeded(app, client, engine, runs_blobs, meta, experiment, created_tag)


def traces(buckets: tuple[str, ...]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {bucket: [] for bucket in buckets}
    # The store lists series by (context id, name).
    for name in sorted(SERIES, key=lambda n: (context_to_id(SERIES[n][0]), n)):
        context, dtype, values = SERIES[name]
        bucket = BUCKET_OF_DTYPE.get(dtype)
        if bucket in out:
            last = values[-1]
            last_value = number(last) if isinstance(last, int | float) else 0.0
            out[bucket].append({"name": name, "context": context, "last_value": last_value})
    return out


def info(s: Seeded, *, system: bool, buckets: tuple[str, ...]) -> dict[str, Any]:
    params: dict[str, Any] = {"__system_params": SYSTEM} if system else {}
    params["hp"] = finite_only(HPARAMS)
    artifacts = [
        {"name": path.rsplit("/", 1)[-1], "path": path, "uri": s.blobs.display_uri(str(key))}
        for path, ref in sorted(BLOB_REFS.items())
        if not path.startswith("seq/")
        for key in [ref.get("s3_key") or ref.get("blob_key")]
    ]
    return {
        "params": params,
        "traces": traces(buckets),
        "props": {
            "name": s.meta.name,
            "description": s.meta.description,
            "experiment": {
                "id": s.experiment.id,
                "name": s.experiment.name,
                "description": s.experiment.description,
            },
            "tags": [
                {"id": s.tag.id, "name": s.tag.name, "color": s.tag.color, "description": s.tag.description}
            ],
            "creation_time": s.meta.created_at,
            "end_time": s.meta.created_at + 12,
            "archived": False,
            "active": True,
        },
        "artifacts": artifacts,
    }


async def test_info(seeded: Seeded) -> None:
    assert isinstance(seeded.meta.created_at, float)
    await seeded.call("GET", run_url(RUN, "info/"), info(seeded, system=True, buckets=BUCKETS))


async def test_info_without_system_params_and_some_sequences(seeded: Seeded) -> None:
    # Requested out of order, the buckets still come in their canonical order.
    url = run_url(RUN, "info/?skip_system=true&sequence=images&sequence=metric")
    await seeded.call("GET", url, info(seeded, system=False, buckets=("metric", "images")))
    await seeded.call("GET", run_url(RUN, "info/?sequence=none"), info(seeded, system=True, buckets=()))


@pytest.mark.parametrize("record_range", ["", "1:3"])
async def test_metric_get_batch(seeded: Seeded, record_range: str) -> None:
    names = ("loss", "samples", "acc", "gone")
    asked = [{"name": name, "context": SERIES.get(name, ({},))[0]} for name in names]
    start, stop = (1, 3) if record_range else (0, None)
    expected = []
    for trace in asked:
        found = SERIES.get(str(trace["name"]))
        if found is None or BUCKET_OF_DTYPE[found[1]] != "metric":
            continue
        values = found[2][start:stop]
        expected.append(
            {
                "name": trace["name"],
                "context": trace["context"],
                "iters": list(range(start, start + len(values))),
                "values": [number(v) for v in values],
            }
        )
    url = run_url(RUN, f"metric/get-batch/?record_density=0&record_range={record_range}")
    await seeded.call("POST", url, expected, json=asked)


async def test_notes(seeded: Seeded) -> None:
    notes_url = run_url(RUN, "note/")
    response = await seeded.client.post(notes_url, json={"content": "  first  "})
    assert response.status_code == 201
    [note] = seeded.engine.read(lambda tr: entities.list_notes_for_run(tr, RUN))
    assert response.content == wire({"id": note.id, "created_at": note.created_at})
    assert declared_model(seeded.app, "POST", notes_url).validate_json(response.content).id == note.id

    listed = {
        "id": note.id,
        "content": "first",
        "created_at": note.created_at,
        "updated_at": note.updated_at,
        "run_hash": RUN,
    }
    await seeded.call("GET", notes_url, [listed])
    await seeded.call("GET", run_url(OTHER, "note/"), [])
    note_url = run_url(RUN, f"note/{note.id}/")
    await seeded.call("GET", note_url, {"id": note.id, "content": "first", "updated_at": note.updated_at})
    response = await seeded.client.put(note_url, json={"content": "second "})
    updated = seeded.engine.read(lambda tr: entities.get_note(tr, note.id))
    assert updated is not None
    assert response.content == wire({"id": note.id, "content": "second", "updated_at": updated.updated_at})
    await seeded.call("DELETE", note_url, {"status": "OK"})


async def test_run_tags(seeded: Seeded) -> None:
    response = await seeded.client.post(run_url(RUN, "tags/new/"), json={"tag_name": " fresh "})
    fresh = seeded.engine.read(lambda tr: entities.get_tag_by_name(tr, "fresh"))
    assert fresh is not None
    assert response.content == wire({"id": RUN, "tag_id": fresh.id, "status": "OK"})
    # Adding it again finds the same tag.
    added = {"id": RUN, "tag_id": fresh.id, "status": "OK"}
    await seeded.call("POST", run_url(RUN, "tags/new/"), added, json={"tag_name": "fresh"})
    removed = {"id": RUN, "removed": True, "status": "OK"}
    await seeded.call("DELETE", run_url(RUN, f"tags/{seeded.tag.id}/"), removed)


async def test_update_delete_and_batches(seeded: Seeded) -> None:
    ok = {"status": "OK"}
    await seeded.call("PUT", run_url(RUN, ""), {"id": RUN, "status": "OK"}, json={"name": "renamed"})
    await seeded.call("POST", f"{BASE}/runs/archive-batch/?archive=false", ok, json=[RUN])
    await seeded.call("POST", f"{BASE}/runs/finish-batch/", ok, json=[RUN, "unknown"])
    await seeded.call("DELETE", run_url(OTHER, ""), {"id": OTHER, "status": "OK"})
    await seeded.call("POST", f"{BASE}/runs/delete-batch/", ok, json=[RUN])
