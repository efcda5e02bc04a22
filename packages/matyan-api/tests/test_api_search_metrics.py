"""GET /runs/search/metric/ and POST /runs/search/metric/align/ on a real LMDB store.

See docs/http-contract.md, Routes.
"""

from __future__ import annotations

import math
from typing import Any

import httpx
from api_runs_fixtures import (
    BASE,
    assert_envelope,
    make_run,
    runs_blobs,
    runs_client,
    runs_engine,
    runs_publisher,
)
from api_search_helpers import get_stream, post_stream, split_frames, write_series
from matyan_client.transport import http as client_http

from matyan_api.streaming import decode_float64_array
from matyan_store.engine import Engine

__all__ = ["runs_blobs", "runs_client", "runs_engine", "runs_publisher"]

SEARCH = f"{BASE}/runs/search/metric/"
ALIGN = f"{BASE}/runs/search/metric/align/"


def _seed(engine: Engine) -> None:
    make_run(engine, "alpha", name="alpha")
    make_run(engine, "beta", name="beta")
    make_run(engine, "gamma", name="gamma")
    for run_id, base in (("alpha", 0.1), ("beta", 0.2), ("gamma", 0.5)):
        write_series(
            engine,
            run_id,
            "loss",
            [base + i / 100 for i in range(5)],
            context={"subset": "train"},
            epochs=[i // 2 for i in range(5)],
            timestamps=[100.0 + i for i in range(5)],
        )
        write_series(engine, run_id, "loss", [base] * 3, context={"subset": "val"})
        write_series(engine, run_id, "acc", [0.5, 0.6, 0.7], context={"subset": "train"})
    write_series(engine, "alpha", "img", [{"s3_key": "x"}], dtype="image")


def _traces(body: bytes) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    data, _ = split_frames(body)
    return {run: [(t["name"], t["context"]) for t in frame["traces"]] for run, frame in data}


async def test_empty_store(runs_client: httpx.AsyncClient) -> None:
    assert split_frames(await get_stream(runs_client, SEARCH)) == ([], [("progress_0", (0, 0))])


async def test_frame_shape_points_and_progress(runs_client: httpx.AsyncClient, runs_engine: Engine) -> None:
    _seed(runs_engine)
    body = await get_stream(runs_client, SEARCH)
    data, progress = split_frames(body)
    assert [run for run, _ in data] == ["alpha", "beta", "gamma"]  # creation order
    frame = dict(data)["alpha"]
    assert list(frame) == ["params", "traces", "props"]
    assert frame["props"]["name"] == "alpha"
    assert "__append_metric_traces__" not in frame
    traces = frame["traces"]
    # Metric traces only, storage order; the image series is left out.
    assert sorted(t["name"] for t in traces) == ["acc", "loss", "loss"]
    loss = next(t for t in traces if t["name"] == "loss" and t["context"] == {"subset": "train"})
    assert list(loss) == ["name", "context", "slice", "values", "iters", "epochs", "timestamps"]
    assert loss["slice"] == [0, 4, 1]
    assert decode_float64_array(loss["iters"]) == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert decode_float64_array(loss["values"]) == [0.1 + i / 100 for i in range(5)]
    # Real epochs and timestamps (the reference leaves these empty).
    assert decode_float64_array(loss["epochs"]) == [0.0, 0.0, 1.0, 1.0, 2.0]
    assert decode_float64_array(loss["timestamps"]) == [100.0, 101.0, 102.0, 103.0, 104.0]
    acc = next(t for t in traces if t["name"] == "acc")
    assert all(math.isnan(e) for e in decode_float64_array(acc["epochs"]))  # not recorded: NaN
    assert [p for _, p in progress] == [(0, 3), (1, 3), (2, 3), (3, 3), (0, 0)]


async def test_released_client_decodes_metric_search(
    runs_client: httpx.AsyncClient, runs_engine: Engine
) -> None:
    _seed(runs_engine)
    body = await get_stream(runs_client, SEARCH, q='metric.name == "acc" and run.name == "beta"')
    [run] = client_http._decode_streaming_response(body)
    assert run["hash"] == "beta"
    trace = run["traces"][0]
    assert trace["name"] == "acc"
    assert trace["context"] == {"subset": "train"}
    assert trace["values"]["dtype"] == "float64"
    assert decode_float64_array(trace["values"]) == [0.5, 0.6, 0.7]
    assert list(run["traces"]) == [0]


async def test_trace_filtering(runs_client: httpx.AsyncClient, runs_engine: Engine) -> None:
    _seed(runs_engine)
    by_name = _traces(await get_stream(runs_client, SEARCH, q='metric.name == "loss"'))
    assert set(by_name) == {"alpha", "beta", "gamma"}
    assert all(name == "loss" for traces in by_name.values() for name, _ in traces)
    by_ctx = _traces(await get_stream(runs_client, SEARCH, q='metric.context.subset == "val"'))
    assert by_ctx == {r: [("loss", {"subset": "val"})] for r in ("alpha", "beta", "gamma")}
    by_last = _traces(await get_stream(runs_client, SEARCH, q="metric.last > 0.3"))
    # acc (0.7) everywhere; gamma's losses too (0.54, 0.5).
    assert by_last["alpha"] == by_last["beta"] == [("acc", {"subset": "train"})]
    assert sorted(name for name, _ in by_last["gamma"]) == ["acc", "loss", "loss"]
    by_run = _traces(await get_stream(runs_client, SEARCH, q='run.name == "gamma"'))
    assert list(by_run) == ["gamma"]
    # An OR the planner cannot narrow per trace: each trace is evaluated (only loss traces here).
    mixed = _traces(await get_stream(runs_client, SEARCH, q='metric.name == "loss" or run.name == "nobody"'))
    assert all(name == "loss" for traces in mixed.values() for name, _ in traces)
    nothing = await get_stream(runs_client, SEARCH, q='metric.name == "nope"')
    assert split_frames(nothing) == ([], [("progress_0", (0, 0))])


async def test_downsampling_keeps_extremes(runs_client: httpx.AsyncClient, runs_engine: Engine) -> None:
    make_run(runs_engine, "long")
    values = [0.0] * 1000
    values[537] = 99.0  # a spike between sampled points
    values[811] = -5.0
    write_series(runs_engine, "long", "loss", values)
    [(_, frame)] = split_frames(await get_stream(runs_client, SEARCH, p=20))[0]
    trace = frame["traces"][0]
    sampled = decode_float64_array(trace["values"])
    iters = decode_float64_array(trace["iters"])
    assert len(sampled) <= 20
    assert 99.0 in sampled
    assert -5.0 in sampled
    assert iters[0] == 0.0
    assert iters[-1] == 999.0
    assert trace["slice"] == [0, 999, 1]
    assert iters == sorted(iters)


async def test_x_axis(runs_client: httpx.AsyncClient, runs_engine: Engine) -> None:
    _seed(runs_engine)
    [(_, frame)] = split_frames(await get_stream(runs_client, SEARCH, q='run.name == "alpha"', x_axis="acc"))[
        0
    ]
    train = next(t for t in frame["traces"] if t["name"] == "loss" and t["context"] == {"subset": "train"})
    assert list(train)[-2:] == ["x_axis_values", "x_axis_iters"]
    assert decode_float64_array(train["x_axis_values"]) == [0.5, 0.6, 0.7]
    assert decode_float64_array(train["x_axis_iters"]) == [0.0, 1.0, 2.0]
    val = next(t for t in frame["traces"] if t["context"] == {"subset": "val"})
    assert val["x_axis_values"]["shape"] == 0  # no acc in that context
    assert val["x_axis_values"]["blob"] == b""


async def test_many_runs_and_chunk_sizes(runs_client: httpx.AsyncClient, runs_engine: Engine) -> None:
    for i in range(15):
        make_run(runs_engine, f"run{i:02d}")
        for name in ("m03", "m01", "m02"):
            write_series(runs_engine, f"run{i:02d}", name, [1.0, 2.0])
    for chunk in (0, 1, 3, 500):
        data, progress = split_frames(await get_stream(runs_client, SEARCH, trace_chunk_size=chunk))
        assert [run for run, _ in data] == [f"run{i:02d}" for i in range(15)]
        assert [t["name"] for t in data[0][1]["traces"]] == ["m01", "m02", "m03"]
        assert progress[-1][1] == (0, 0)


async def test_syntax_error_is_400(runs_client: httpx.AsyncClient) -> None:
    assert_envelope(await runs_client.get(SEARCH, params={"q": "metric.name ==="}), 400, "bad_request")


async def test_align(runs_client: httpx.AsyncClient, runs_engine: Engine) -> None:
    _seed(runs_engine)
    request = {
        "align_by": "acc",
        "runs": [
            {
                "run_id": "alpha",
                "traces": [
                    {"name": "loss", "context": {"subset": "train"}, "slice": [0, 1, 1]},
                    {"name": "loss", "context": {"subset": "val"}, "slice": [0, 5, 1]},  # no acc there
                    {"name": "nope", "context": {"subset": "train"}, "slice": [0, 5, 1]},
                ],
            },
            {"run_id": "missing", "traces": []},
            {
                "run_id": "beta",
                "traces": [{"name": "loss", "context": {"subset": "train"}, "slice": [0, 0, 1]}],
            },
        ],
    }
    data, progress = split_frames(await post_stream(runs_client, ALIGN, request))
    assert progress == []
    assert [run for run, _ in data] == ["alpha", "beta"]
    [alpha] = dict(data)["alpha"]
    assert (alpha["name"], alpha["context"]) == ("loss", {"subset": "train"})
    assert decode_float64_array(alpha["x_axis_iters"]) == [0.0, 1.0]  # up to slice[1] inclusive
    assert decode_float64_array(alpha["x_axis_values"]) == [0.5, 0.6]
    [beta] = dict(data)["beta"]
    assert decode_float64_array(beta["x_axis_iters"]) == [0.0, 1.0, 2.0]  # slice[1] <= 0: everything
    bad = await runs_client.post(ALIGN, json={"runs": []})
    assert_envelope(bad, 422, "validation_error")
