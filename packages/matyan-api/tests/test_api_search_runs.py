"""GET /runs/search/run/ and GET /runs/active/ over a real LMDB store (docs/http-contract.md, Routes)."""

from __future__ import annotations

import json

import httpx
from api_runs_fixtures import (
    BASE,
    assert_envelope,
    make_run,
    runs_blobs,
    runs_client,
    runs_engine,
    runs_publisher,
    set_attrs,
)
from api_search_helpers import get_stream, split_frames, write_series
from matyan_client.transport import http as client_http

from matyan_api.streaming import decode_pairs
from matyan_store.engine import Engine
from matyan_store.runs import mark_pending_deletion

__all__ = ["runs_blobs", "runs_client", "runs_engine", "runs_publisher"]

SEARCH = f"{BASE}/runs/search/run/"
ACTIVE = f"{BASE}/runs/active/"


def _seed(engine: Engine) -> None:
    """Five runs, created in order r1..r5 (names sol1..sol5), two experiments, some metrics."""
    for i in range(1, 6):
        make_run(engine, f"r{i}", name=f"sol{i}", experiment="exp-a" if i % 2 else "exp-b")
        set_attrs(engine, f"r{i}", (), {"hparams": {"lr": i / 100}, "__system_params": {"cpu": 4}})
    write_series(engine, "r1", "loss", [0.9, 0.5], context={"subset": "train"})
    write_series(engine, "r1", "acc", [0.1, 0.7])
    write_series(engine, "r1", "images", [{"s3_key": "k"}], dtype="image")
    write_series(engine, "r2", "loss", [0.4])


def _order(body: bytes) -> list[str]:
    data, _ = split_frames(body)
    return [key for key, _ in data]


async def test_empty_store_is_one_terminal_progress_frame(runs_client: httpx.AsyncClient) -> None:
    body = await get_stream(runs_client, SEARCH)
    assert split_frames(body) == ([], [("progress_0", (0, 0))])
    assert await get_stream(runs_client, SEARCH, report_progress="false") == b""


async def test_frame_shape_and_default_order(runs_client: httpx.AsyncClient, runs_engine: Engine) -> None:
    _seed(runs_engine)
    body = await get_stream(runs_client, SEARCH)
    data, progress = split_frames(body)
    # Default sort: newest first; every run's pairs contiguous (each key once).
    assert [key for key, _ in data] == ["r5", "r4", "r3", "r2", "r1"]
    r1 = dict(data)["r1"]
    assert list(r1) == ["params", "traces", "props"]
    assert r1["params"] == {"hparams": {"lr": 0.01}}  # skip_system by default
    # Metric traces only (the image series is left out), in (context id, name) order.
    metrics = r1["traces"]["metric"]
    assert {m["name"] for m in metrics} == {"loss", "acc"}
    loss = next(m for m in metrics if m["name"] == "loss")
    assert loss["context"] == {"subset": "train"}
    assert loss["values"] == {"last": 0.5, "last_step": 1, "first": 0.5, "min": 0.5, "max": 0.5}
    acc = next(m for m in metrics if m["name"] == "acc")
    assert acc["context"] == {}
    assert r1["props"]["name"] == "sol1"
    assert r1["props"]["experiment"]["name"] == "exp-a"
    # Progress: (0, total) first, (position, total) after each run, terminal (0, 0); keys numbered.
    assert progress == [
        ("progress_0", (0, 5)),
        ("progress_1", (1, 5)),
        ("progress_2", (2, 5)),
        ("progress_3", (3, 5)),
        ("progress_4", (4, 5)),
        ("progress_5", (5, 5)),
        ("progress_6", (0, 0)),
    ]
    # The first frame of the body is the initial progress frame.
    assert decode_pairs(body)[0][0] == ("progress_0",)


async def test_released_client_decodes_run_search(
    runs_client: httpx.AsyncClient, runs_engine: Engine
) -> None:
    _seed(runs_engine)
    body = await get_stream(runs_client, SEARCH, q='run.experiment == "exp-b"')
    runs = client_http._decode_streaming_response(body)
    assert [r["hash"] for r in runs] == ["r4", "r2"]
    r2 = runs[1]
    assert r2["props"]["name"] == "sol2"
    assert r2["traces"]["metric"] == {
        0: {"name": "loss", "values": {"last": 0.4, "last_step": 0, "first": 0.4, "min": 0.4, "max": 0.4}}
    }
    assert r2["params"]["hparams"]["lr"] == 0.02


async def test_query_filters_on_every_plan_path(runs_client: httpx.AsyncClient, runs_engine: Engine) -> None:
    _seed(runs_engine)
    sort = json.dumps([{"field": "hash", "order": "asc"}])
    cases = {
        'run.name == "sol3"': ["r3"],  # superset, evaluated
        'run.experiment == "exp-a"': ["r1", "r3", "r5"],  # exact
        "run.hparams.lr >= 0.04": ["r4", "r5"],  # hparam index
        'run.is_archived == False or run.name == "sol2"': ["r1", "r2", "r3", "r4", "r5"],  # lazy
        'metric.name == "loss"': ["r1", "r2"],  # trace index
        "metric.last > 0.45": ["r1"],  # per-trace evaluation: r1's loss (0.5) and acc (0.7)
        'metric.context.subset == "train"': ["r1"],
    }
    for q, expected in cases.items():
        assert _order(await get_stream(runs_client, SEARCH, q=q, sort=sort)) == expected, q


async def test_archived_and_pending_runs(runs_client: httpx.AsyncClient, runs_engine: Engine) -> None:
    make_run(runs_engine, "live")
    make_run(runs_engine, "old", archived=True)
    make_run(runs_engine, "gone")
    runs_engine.transact(lambda tr: mark_pending_deletion(tr, "gone"))
    assert _order(await get_stream(runs_client, SEARCH)) == ["live"]
    assert _order(await get_stream(runs_client, SEARCH, q="run.is_archived == True")) == ["old"]


async def test_sort_offset_limit(runs_client: httpx.AsyncClient, runs_engine: Engine) -> None:
    _seed(runs_engine)
    by_name = json.dumps([{"field": "run", "order": "asc"}])
    assert _order(await get_stream(runs_client, SEARCH, sort=by_name, offset="r2", limit=2)) == ["r3", "r4"]
    assert _order(await get_stream(runs_client, SEARCH, sort=by_name, offset="nope")) == []
    desc = json.dumps([{"field": "run", "order": "desc"}])
    assert _order(await get_stream(runs_client, SEARCH, sort=desc, limit=2)) == ["r5", "r4"]
    multi = json.dumps([{"field": "experiment"}, {"field": "run", "order": "desc"}])
    assert _order(await get_stream(runs_client, SEARCH, sort=multi)) == ["r5", "r3", "r1", "r4", "r2"]
    assert _order(await get_stream(runs_client, SEARCH, sort=json.dumps([{"field": "date"}]))) == [
        "r1",
        "r2",
        "r3",
        "r4",
        "r5",
    ]
    # Positions in progress continue past the offset.
    _, progress = split_frames(await get_stream(runs_client, SEARCH, sort=by_name, offset="r3"))
    assert [p for _, p in progress] == [(0, 5), (4, 5), (5, 5), (0, 0)]


async def test_exclude_params_and_traces(runs_client: httpx.AsyncClient, runs_engine: Engine) -> None:
    _seed(runs_engine)
    body = await get_stream(
        runs_client, SEARCH, q='run.name == "sol1"', exclude_params="true", exclude_traces="true"
    )
    [(key, frame)] = split_frames(body)[0]
    assert key == "r1"
    assert frame["params"] == {}
    assert frame["traces"] == {"metric": []}
    body = await get_stream(runs_client, SEARCH, q='run.name == "sol1"', skip_system="false")
    assert split_frames(body)[0][0][1]["params"]["__system_params"] == {"cpu": 4}


async def test_bad_queries_and_sorts_are_400(runs_client: httpx.AsyncClient) -> None:
    body = assert_envelope(await runs_client.get(SEARCH, params={"q": "run.name =="}), 400, "bad_request")
    assert body["detail"].startswith("Invalid query syntax: ")
    assert_envelope(await runs_client.get(SEARCH, params={"q": "run._x == 1"}), 400, "bad_request")
    body = assert_envelope(await runs_client.get(SEARCH, params={"sort": "[{"}), 400, "bad_request")
    assert body["detail"].startswith("Invalid sort JSON")
    body = assert_envelope(
        await runs_client.get(SEARCH, params={"sort": '[{"field": "x"}]'}), 400, "bad_request"
    )
    assert body["detail"] == "Unknown sort field: 'x'"
    body = assert_envelope(
        await runs_client.get(SEARCH, params={"sort": '[{"field": "run", "order": "up"}]'}),
        400,
        "bad_request",
    )
    assert body["detail"] == "Invalid sort order: 'up'"


async def test_more_runs_than_a_batch(runs_client: httpx.AsyncClient, runs_engine: Engine) -> None:
    for i in range(23):
        make_run(runs_engine, f"run{i:02d}")
    body = await get_stream(runs_client, SEARCH, sort='[{"field": "hash"}]')
    assert _order(body) == [f"run{i:02d}" for i in range(23)]
    assert len(_order(await get_stream(runs_client, SEARCH, limit=12))) == 12


async def test_active_runs(runs_client: httpx.AsyncClient, runs_engine: Engine) -> None:
    _seed(runs_engine)
    make_run(runs_engine, "done", active=False, finalized_at=1.0)
    make_run(runs_engine, "arch", archived=True)
    body = await get_stream(runs_client, ACTIVE)
    data, progress = split_frames(body)
    assert [k for k, _ in data] == ["arch", "r1", "r2", "r3", "r4", "r5"]  # by hash, archived included
    r1 = dict(data)["r1"]
    assert list(r1) == ["traces", "props"]
    assert {m["name"] for m in r1["traces"]["metric"]} == {"loss", "acc"}  # no image trace
    assert next(m for m in r1["traces"]["metric"] if m["name"] == "acc")["values"] == {
        "last": 0.7,
        "last_step": 1,
    }
    assert [p for _, p in progress] == [(i, 6) for i in range(1, 7)]  # no terminal frame
    assert split_frames(await get_stream(runs_client, ACTIVE, report_progress="false"))[1] == []


async def test_no_active_runs_is_empty(runs_client: httpx.AsyncClient, runs_engine: Engine) -> None:
    make_run(runs_engine, "done", active=False, finalized_at=1.0)
    assert await get_stream(runs_client, ACTIVE, report_progress="false") == b""
    assert await get_stream(runs_client, ACTIVE) == b""
