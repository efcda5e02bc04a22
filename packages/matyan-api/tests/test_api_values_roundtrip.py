"""Values at the edges of what a client can store, through the JSON routes and the streams
(docs/http-contract.md, Values): ints beyond int64, NaN and infinities, lone surrogates already in the
store, deep nesting, long strings. Every stream ends with its closing frame, and the released client
reads what ours does.
"""

from __future__ import annotations

import math
from typing import Any

import httpx
import pytest
from api_runs_fixtures import (
    BASE,
    log_series,
    make_run,
    run_url,
    runs_blobs,
    runs_client,
    runs_engine,
    runs_publisher,
    set_attrs,
)
from api_search_helpers import get_stream, split_frames
from matyan_client.transport import http as client_http

from matyan_store.engine import Engine

__all__ = ["runs_blobs", "runs_client", "runs_engine", "runs_publisher"]


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"a": value}
    return value


HPARAMS: dict[str, Any] = {
    "big": 2**70,
    "neg": -(2**70),
    "int64_max": 2**63 - 1,
    "nan": math.nan,
    "inf": math.inf,
    "minf": -math.inf,
    "long": "y" * 50_000,
    "deep": _nested(150),
}
# Stored before lone surrogates were refused at the door (they are not text): sent as U+FFFD.
LEGACY = "a\ud800b"


def _seed(engine: Engine) -> None:
    make_run(engine, "r1")
    set_attrs(engine, "r1", ("hparams",), HPARAMS)
    set_attrs(engine, "r1", ("legacy",), {"text": LEGACY})
    log_series(engine, "r1", "loss", [math.nan, math.inf, 2**70])


def _check_stream_params(params: dict[str, Any]) -> None:
    hp = params["hparams"]
    assert hp["big"] == str(2**70)
    assert hp["neg"] == str(-(2**70))
    assert hp["int64_max"] == 2**63 - 1
    assert math.isnan(hp["nan"])
    assert (hp["inf"], hp["minf"]) == (math.inf, -math.inf)
    assert hp["long"] == HPARAMS["long"]
    assert hp["deep"] == HPARAMS["deep"]
    assert params["legacy"] == {"text": "a\ufffdb"}


@pytest.mark.parametrize("route", ["run", "metric"])
async def test_streams_carry_every_stored_value(
    runs_client: httpx.AsyncClient, runs_engine: Engine, route: str
) -> None:
    _seed(runs_engine)
    body = await get_stream(runs_client, f"{BASE}/runs/search/{route}/")
    data, progress = split_frames(body)
    assert progress[-1][1] == (0, 0)  # the closing frame: nothing was cut
    [(run_id, run)] = data
    assert run_id == "r1"
    _check_stream_params(run["params"])
    [client_run] = client_http._decode_streaming_response(body)
    _check_stream_params(client_run["params"])


async def test_run_search_trace_summaries_of_odd_numbers(
    runs_client: httpx.AsyncClient, runs_engine: Engine
) -> None:
    _seed(runs_engine)
    body = await get_stream(runs_client, f"{BASE}/runs/search/run/")
    [(_, run)] = split_frames(body)[0]
    [trace] = run["traces"]["metric"]
    assert trace["values"]["last"] == float(2**70)


async def test_json_routes_carry_every_stored_value(
    runs_client: httpx.AsyncClient, runs_engine: Engine
) -> None:
    _seed(runs_engine)
    info = await runs_client.get(run_url("r1", "info/"))
    assert info.status_code == 200, info.text
    params = info.json()["params"]
    hp = params["hparams"]
    # JSON numbers of any size stay exact; NaN and infinities have no JSON form: null.
    assert (hp["big"], hp["neg"], hp["int64_max"]) == (2**70, -(2**70), 2**63 - 1)
    assert (hp["nan"], hp["inf"], hp["minf"]) == (None, None, None)
    assert hp["long"] == HPARAMS["long"]
    assert hp["deep"] == HPARAMS["deep"]
    assert params["legacy"] == {"text": "a\ufffdb"}
    catalogue = await runs_client.get(f"{BASE}/projects/params/")
    assert catalogue.status_code == 200, catalogue.text
    assert catalogue.json()["params"]["hparams"]["big"] == 2**70


async def test_non_finite_numbers_in_a_request_body_come_back_as_null(runs_client: httpx.AsyncClient) -> None:
    # Python's JSON parser accepts NaN and Infinity; the app state keeps them, JSON answers say null.
    created = await runs_client.post(
        f"{BASE}/apps/",
        content=f'{{"type": "metrics", "state": {{"x": NaN, "y": [Infinity, -Infinity], "z": {2**70}}}}}',
        headers={"content-type": "application/json"},
    )
    assert created.status_code == 201, created.text
    assert created.json()["state"] == {"x": None, "y": [None, None], "z": 2**70}
    app_id = created.json()["id"]
    fetched = await runs_client.get(f"{BASE}/apps/{app_id}/")
    assert fetched.json()["state"] == {"x": None, "y": [None, None], "z": 2**70}
    listed = await runs_client.get(f"{BASE}/apps/")
    assert listed.status_code == 200, listed.text
