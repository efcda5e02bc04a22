"""Regression tests for what the schemathesis run (and probing around it) found: inputs that gave a 5xx.

Each test names the request that failed and what it now answers.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from api_fixtures import REST, ApiHarness, api
from api_runs_fixtures import (
    log_series,
    make_run,
    run_url,
    runs_blobs,
    runs_client,
    runs_engine,
    runs_publisher,
)
from api_search_helpers import get_stream, write_series

from matyan_api.routes.runs_sampling import point_read_sample
from matyan_api.streaming import decode_pairs
from matyan_store.engine import Engine

__all__ = ["api", "runs_blobs", "runs_client", "runs_engine", "runs_publisher"]

HUGE = 10**30
LOSS = [{"name": "loss", "context": {}}]


@pytest.mark.parametrize(
    ("record_range", "iters"),
    [
        # Bounds past what a step key can hold (2**64) made the store raise: a 500.
        (f"{HUGE}:{HUGE + 1}", []),
        (f":{HUGE}", [0, 1, 2, 3]),
        (f"{2**64 - 1}:", []),
        (f"2:{2**64}", [2, 3]),
        # A negative stop reached the key encoder: a 500.
        (":-5", []),
        (f"{-HUGE}:{-HUGE + 10}", []),
        (f"{-HUGE}:2", [0, 1]),
    ],
)
async def test_metric_batch_range_bounds_outside_the_step_domain(
    runs_client: httpx.AsyncClient, runs_engine: Engine, record_range: str, iters: list[int]
) -> None:
    make_run(runs_engine, "r1")
    log_series(runs_engine, "r1", "loss", [0.4, 0.3, 0.2, 0.1])
    response = await runs_client.post(
        run_url("r1", "metric/get-batch/"), params={"record_range": record_range}, json=LOSS
    )
    assert response.status_code == 200, response.text
    [trace] = response.json()
    assert trace["iters"] == iters
    assert len(trace["values"]) == len(iters)


async def test_metric_batch_huge_density_returns_every_point(
    runs_client: httpx.AsyncClient, runs_engine: Engine
) -> None:
    # record_density=10**30 walked 10**30 sampling targets: the request never finished.
    make_run(runs_engine, "r1")
    log_series(runs_engine, "r1", "loss", [0.4, 0.3, 0.2])
    response = await runs_client.post(
        run_url("r1", "metric/get-batch/"), params={"record_density": str(HUGE)}, json=LOSS
    )
    assert response.status_code == 200, response.text
    assert response.json()[0]["iters"] == [0, 1, 2]


@pytest.mark.parametrize("n", [5, 6, HUGE])
def test_point_read_sample_at_or_above_the_count_is_everything(n: int) -> None:
    assert point_read_sample([0, 3, 4, 10, 11], n) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("record_range", [f"2:{HUGE}", f"2:{2**64}"])
async def test_logs_stop_past_any_step_is_the_series_end(
    runs_client: httpx.AsyncClient, runs_engine: Engine, record_range: str
) -> None:
    # A stop of 2**64 or more reached the store's key encoder: a 500 before the stream started.
    make_run(runs_engine, "r1")
    write_series(runs_engine, "r1", "logs", [f"line {i}" for i in range(5)], dtype="logs")
    body = await get_stream(runs_client, run_url("r1", "logs/"), record_range=record_range)
    assert decode_pairs(body) == [((2,), "line 2"), ((3,), "line 3"), ((4,), "line 4")]


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "projects/pinned-sequences/", {"sequences": [{"name": "loss", "context": _nested(300)}]}),
        ("POST", "apps/", {"type": "metrics", "state": _nested(300)}),
    ],
)
def test_values_nested_past_the_store_codec_are_400(
    api: ApiHarness, method: str, path: str, body: Any
) -> None:
    # The store's object codec refuses such depth with a ValueError, which escaped as a 500.
    response = api.client.request(method, f"{REST}/{path}", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "bad_request"
    assert "nested too deeply" in response.json()["detail"]


def test_dashboard_app_update_nested_past_the_store_codec_is_400(api: ApiHarness) -> None:
    created = api.client.post(f"{REST}/apps/", json={"type": "metrics", "state": {"a": 1}})
    assert created.status_code == 201, created.text
    app_id = created.json()["id"]
    response = api.client.put(f"{REST}/apps/{app_id}/", json={"type": "metrics", "state": _nested(300)})
    assert response.status_code == 400, response.text
    assert api.client.get(f"{REST}/apps/{app_id}/").json()["state"] == {"a": 1}
