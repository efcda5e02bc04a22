"""POST /runs/{id}/metric/get-batch/ and the sampling helpers (docs/http-contract.md, Sampling)."""

from __future__ import annotations

import math
from typing import Any

import httpx
import pytest
from api_runs_fixtures import (
    assert_envelope,
    log_series,
    make_run,
    run_url,
    runs_blobs,
    runs_client,
    runs_engine,
    runs_publisher,
)

from matyan_api.routes import runs_metrics_json
from matyan_api.routes.runs_sampling import RangeError, evenly_spaced, parse_range, point_read_sample
from matyan_store.engine import Engine

__all__ = ["runs_blobs", "runs_client", "runs_engine", "runs_publisher"]


def _batch_url(run_id: str) -> str:
    return run_url(run_id, "metric/get-batch/")


# -- pure helpers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", (None, None)),
        ("2,8", (None, None)),
        ("2,5", (None, None)),
        ("2:5", (2, 5)),
        ("5:", (5, None)),
        (":5", (None, 5)),
        (":", (None, None)),
    ],
)
def test_parse_range(text: str, expected: tuple[int | None, int | None]) -> None:
    assert parse_range(text) == expected


def test_parse_range_rejects_non_integers() -> None:
    with pytest.raises(RangeError):
        parse_range("a:5")


def test_evenly_spaced_examples() -> None:
    assert evenly_spaced(list(range(10)), 3) == [0, 4, 9]
    assert evenly_spaced([1, 2, 3], 10) == [1, 2, 3]
    assert evenly_spaced([1, 2, 3], 3) == [1, 2, 3]
    assert evenly_spaced([1, 2, 3], 1) == [1]
    assert evenly_spaced([1, 2, 3], 0) == [1, 2, 3]


def test_point_read_sample_regular_and_sparse() -> None:
    assert point_read_sample(list(range(101)), 5) == [0, 25, 50, 75, 100]
    # Sparse steps: the targets 0, 50, 100 find 0, 90, 100 -> three points.
    assert point_read_sample([0, 90, 95, 100], 3) == [0, 1, 3]
    # Fewer hits than n falls back to the evenly spaced pick over all points.
    assert point_read_sample([0, 1, 2, 1000], 3) == [0, 2, 3]
    assert point_read_sample([0, 1, 2], 50) == [0, 1, 2]
    assert point_read_sample([7], 3) == [0]
    assert point_read_sample(list(range(10)), 1) == [0]
    assert point_read_sample(list(range(10)), 0) == list(range(10))


# -- the route ---------------------------------------------------------------------------------------


async def test_two_point_metric(runs_client: httpx.AsyncClient, runs_engine: Engine) -> None:
    make_run(runs_engine, "r1")
    log_series(runs_engine, "r1", "loss", [0.7, 0.9])
    response = await runs_client.post(_batch_url("r1"), json=[{"name": "loss", "context": {}}])
    assert response.status_code == 200
    assert response.json() == [{"name": "loss", "context": {}, "iters": [0, 1], "values": [0.7, 0.9]}]


async def test_missing_metrics_and_context_mismatch_are_dropped(
    runs_client: httpx.AsyncClient, runs_engine: Engine
) -> None:
    make_run(runs_engine, "r1")
    log_series(runs_engine, "r1", "loss", [1.0, 2.0], context={"subset": "train"})
    log_series(runs_engine, "r1", "images", [{"caption": "x"}], dtype="image")
    body = [
        {"name": "nope", "context": {}},
        {"name": "loss", "context": {}},
        {"name": "loss", "context": {"subset": "val"}},
        {"name": "images", "context": {}},
        {"name": "loss", "context": {"subset": "train"}},
    ]
    result = (await runs_client.post(_batch_url("r1"), json=body)).json()
    assert result == [{"name": "loss", "context": {"subset": "train"}, "iters": [0, 1], "values": [1.0, 2.0]}]
    assert (await runs_client.post(_batch_url("r1"), json=[{"name": "nope", "context": {}}])).json() == []


async def test_range_and_density(runs_client: httpx.AsyncClient, runs_engine: Engine) -> None:
    make_run(runs_engine, "r1")
    log_series(runs_engine, "r1", "loss", [float(i) for i in range(10)])
    trace = [{"name": "loss", "context": {}}]

    ranged = (await runs_client.post(_batch_url("r1"), params={"record_range": "2:5"}, json=trace)).json()
    assert ranged[0]["iters"] == [2, 3, 4]
    assert ranged[0]["values"] == [2.0, 3.0, 4.0]

    comma = (await runs_client.post(_batch_url("r1"), params={"record_range": "2,8"}, json=trace)).json()
    assert comma[0]["iters"] == list(range(10))

    sparse = await runs_client.post(_batch_url("r1"), params={"record_density": 3}, json=trace)
    assert sparse.json()[0]["iters"] == [0, 4, 9]

    whole = await runs_client.post(_batch_url("r1"), params={"record_density": 0}, json=trace)
    assert len(whole.json()[0]["iters"]) == 10


async def test_non_finite_values_are_null(runs_client: httpx.AsyncClient, runs_engine: Engine) -> None:
    make_run(runs_engine, "r1")
    log_series(runs_engine, "r1", "loss", [1.0, math.nan, math.inf])
    result = (await runs_client.post(_batch_url("r1"), json=[{"name": "loss", "context": {}}])).json()
    assert result[0]["values"] == [1.0, None, None]


async def test_windowed_read_matches_full_read(
    runs_client: httpx.AsyncClient, runs_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_run(runs_engine, "r1")
    steps = [*range(0, 3000, 3), *range(3000, 9000, 7)]
    log_series(runs_engine, "r1", "loss", [float(s) * 0.5 for s in steps], steps=steps)
    trace = [{"name": "loss", "context": {}}]
    full = (await runs_client.post(_batch_url("r1"), params={"record_density": 40}, json=trace)).json()
    monkeypatch.setattr(runs_metrics_json, "WINDOWED_READ_MIN_POINTS", 1)
    monkeypatch.setattr(runs_metrics_json, "WINDOWED_READ_MIN_RATIO", 1)
    answered: list[bool] = []
    real = runs_metrics_json._windowed

    def spy(*args: Any) -> Any:
        found = real(*args)
        answered.append(found is not None)
        return found

    monkeypatch.setattr(runs_metrics_json, "_windowed", spy)
    windowed = (await runs_client.post(_batch_url("r1"), params={"record_density": 40}, json=trace)).json()
    assert answered == [True]
    assert windowed == full
    assert len(full[0]["iters"]) == 40
    expected = [steps[i] for i in point_read_sample(steps, 40)]
    assert full[0]["iters"] == expected


async def test_errors(runs_client: httpx.AsyncClient, runs_engine: Engine) -> None:
    assert_envelope(await runs_client.post(_batch_url("nope"), json=[]), 404, "not_found")
    make_run(runs_engine, "r1")
    assert_envelope(
        await runs_client.post(_batch_url("r1"), json=[{"name": "loss"}]), 422, "validation_error"
    )
    assert_envelope(await runs_client.post(_batch_url("r1"), json={"name": "loss"}), 422, "validation_error")
    bad_range = await runs_client.post(_batch_url("r1"), params={"record_range": "a:b"}, json=[])
    assert_envelope(bad_range, 422, "validation_error")
    bad_density = await runs_client.post(_batch_url("r1"), params={"record_density": "many"}, json=[])
    assert_envelope(bad_density, 422, "validation_error")
