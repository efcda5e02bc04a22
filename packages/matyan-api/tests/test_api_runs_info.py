"""GET /runs/{run_id}/info/: params, traces, props, artifacts (docs/http-contract.md, Routes)."""

from __future__ import annotations

import math

import httpx
from api_runs_fixtures import (
    assert_envelope,
    log_series,
    make_run,
    run_url,
    runs_blobs,
    runs_client,
    runs_engine,
    runs_publisher,
    set_attrs,
)

from matyan_store import entities
from matyan_store.blobs import BlobStore
from matyan_store.engine import Engine
from matyan_store.runs import add_run_tag, mark_pending_deletion

__all__ = ["runs_blobs", "runs_client", "runs_engine", "runs_publisher"]

ALL_BUCKETS = {"metric", "images", "texts", "distributions", "audios", "figures"}


async def test_info_shape_of_a_new_run(runs_client: httpx.AsyncClient, runs_engine: Engine) -> None:
    meta = make_run(runs_engine, "0cf28fd9b5bf2002")
    response = await runs_client.get(run_url("0cf28fd9b5bf2002", "info/"))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"params", "traces", "props", "artifacts"}
    assert body["params"] == {}
    assert set(body["traces"]) == ALL_BUCKETS
    assert all(v == [] for v in body["traces"].values())
    assert body["artifacts"] == []
    assert body["props"] == {
        "name": "Run: 0cf28fd9b5bf2002",
        "description": "",
        "experiment": {"id": None, "name": None, "description": None},
        "tags": [],
        "creation_time": meta.created_at,
        "end_time": None,
        "archived": False,
        "active": True,
    }


async def test_info_without_trailing_slash(runs_client: httpx.AsyncClient, runs_engine: Engine) -> None:
    make_run(runs_engine, "r1", name="first")
    response = await runs_client.get(run_url("r1", "info"))
    assert response.status_code == 200
    assert response.json()["props"]["name"] == "first"


async def test_info_unknown_run_is_404(runs_client: httpx.AsyncClient) -> None:
    assert_envelope(await runs_client.get(run_url("missing", "info/")), 404, "not_found")


async def test_info_pending_deletion_is_404(runs_client: httpx.AsyncClient, runs_engine: Engine) -> None:
    make_run(runs_engine, "gone")
    runs_engine.transact(lambda tr: mark_pending_deletion(tr, "gone"))
    assert_envelope(await runs_client.get(run_url("gone", "info/")), 404, "not_found")


async def test_info_experiment_and_tags(runs_client: httpx.AsyncClient, runs_engine: Engine) -> None:
    make_run(runs_engine, "r1", experiment="exp-a")

    def tag(tr: object) -> str:
        t = entities.create_tag(tr, "best", color="#f00", description="keep")  # type: ignore[arg-type]
        add_run_tag(tr, "r1", t.id)  # type: ignore[arg-type]
        return t.id

    tag_id = runs_engine.transact(tag)
    exp = runs_engine.read(lambda tr: entities.get_experiment_by_name(tr, "exp-a"))
    assert exp is not None
    props = (await runs_client.get(run_url("r1", "info/"))).json()["props"]
    assert props["experiment"] == {"id": exp.id, "name": "exp-a", "description": ""}
    assert props["tags"] == [{"id": tag_id, "name": "best", "color": "#f00", "description": "keep"}]


async def test_info_deleted_experiment_shows_nulls(
    runs_client: httpx.AsyncClient, runs_engine: Engine
) -> None:
    meta = make_run(runs_engine, "r1", experiment="doomed")
    assert meta.experiment_id is not None
    runs_engine.transact(lambda tr: entities.delete_experiment(tr, meta.experiment_id))  # type: ignore[arg-type]
    props = (await runs_client.get(run_url("r1", "info/"))).json()["props"]
    assert props["experiment"] == {"id": None, "name": None, "description": None}


async def test_info_params_skip_system_and_blobs(
    runs_client: httpx.AsyncClient, runs_engine: Engine, runs_blobs: BlobStore
) -> None:
    make_run(runs_engine, "r1")
    set_attrs(runs_engine, "r1", ("hparams",), {"lr": 0.01, "bs": 32})
    set_attrs(runs_engine, "r1", ("__system_params",), {"cpu": 4})
    set_attrs(
        runs_engine,
        "r1",
        ("__blobs__",),
        {
            "model.pt": {"s3_key": "r1/model.pt", "content_type": "application/octet-stream"},
            "ckpt/last/weights.bin": {"s3_key": "r1/ckpt/last/weights.bin", "content_type": "x"},
            "seq/images/0.png": {"s3_key": "r1/seq/images/0.png", "content_type": "image/png"},
            "broken": {"content_type": "x"},
        },
    )
    body = (await runs_client.get(run_url("r1", "info/"))).json()
    assert body["params"] == {"hparams": {"lr": 0.01, "bs": 32}, "__system_params": {"cpu": 4}}
    assert body["artifacts"] == [
        {
            "name": "weights.bin",
            "path": "ckpt/last/weights.bin",
            "uri": runs_blobs.display_uri("r1/ckpt/last/weights.bin"),
        },
        {"name": "model.pt", "path": "model.pt", "uri": runs_blobs.display_uri("r1/model.pt")},
    ]
    skipped = (await runs_client.get(run_url("r1", "info/"), params={"skip_system": "true"})).json()
    assert skipped["params"] == {"hparams": {"lr": 0.01, "bs": 32}}


async def test_info_traces_buckets_and_last_values(
    runs_client: httpx.AsyncClient, runs_engine: Engine
) -> None:
    make_run(runs_engine, "r1")
    log_series(runs_engine, "r1", "loss", [0.9, 0.5, 0.25])
    log_series(runs_engine, "r1", "acc", [1, 2], context={"subset": "val"}, dtype="int")
    log_series(runs_engine, "r1", "diverged", [1.0, math.nan])
    log_series(runs_engine, "r1", "samples", [{"caption": "a"}], dtype="image")
    log_series(runs_engine, "r1", "notes", [{"data": "x"}], dtype="text")
    log_series(runs_engine, "r1", "logs", ["line 0"], dtype="logs")
    log_series(runs_engine, "r1", "__log_records", [{"message": "m"}], dtype="log_records")
    traces = (await runs_client.get(run_url("r1", "info/"))).json()["traces"]
    metric = {(t["name"], tuple(t["context"].items())): t["last_value"] for t in traces["metric"]}
    assert metric == {
        ("loss", ()): 0.25,
        ("diverged", ()): None,
        ("acc", (("subset", "val"),)): 2.0,
    }
    assert traces["images"] == [{"name": "samples", "context": {}, "last_value": 0.0}]
    assert traces["texts"] == [{"name": "notes", "context": {}, "last_value": 0.0}]
    assert traces["audios"] == traces["figures"] == traces["distributions"] == []
    names = [t["name"] for bucket in traces.values() for t in bucket]
    assert "logs" not in names
    assert "__log_records" not in names


async def test_info_sequence_filter(runs_client: httpx.AsyncClient, runs_engine: Engine) -> None:
    make_run(runs_engine, "r1")
    log_series(runs_engine, "r1", "loss", [1.0])
    only_metric = (await runs_client.get(run_url("r1", "info/"), params={"sequence": "metric"})).json()
    assert set(only_metric["traces"]) == {"metric"}
    assert only_metric["traces"]["metric"][0]["name"] == "loss"
    two = await runs_client.get(
        run_url("r1", "info/"), params=[("sequence", "images"), ("sequence", "texts")]
    )
    assert set(two.json()["traces"]) == {"images", "texts"}


async def test_info_end_time_uses_duration(runs_client: httpx.AsyncClient, runs_engine: Engine) -> None:
    meta = make_run(runs_engine, "r1", active=False, finalized_at=None, duration=12.5)
    props = (await runs_client.get(run_url("r1", "info/"))).json()["props"]
    assert props["end_time"] == meta.created_at + 12.5
    assert props["active"] is False


async def test_info_bad_skip_system_is_422(runs_client: httpx.AsyncClient, runs_engine: Engine) -> None:
    make_run(runs_engine, "r1")
    response = await runs_client.get(run_url("r1", "info/"), params={"skip_system": "maybe"})
    assert_envelope(response, 422, "validation_error")
