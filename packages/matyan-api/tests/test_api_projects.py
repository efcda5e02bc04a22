"""``/api/v1/rest/projects``: info, activity, params, pinned sequences, status."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from api_fixtures import REST, ApiHarness, api, make_run

from matyan_api.activity import DAY_FORMAT, HOUR_FORMAT, activity_bucket
from matyan_api.project_params import compute_project_params, merge_params
from matyan_api.routes import projects as projects_routes
from matyan_api.ttl_cache import TTLCache
from matyan_store import indexes, runs
from matyan_store.entities import create_experiment
from matyan_store.sequences import Point, SeriesKey

__all__ = ["api"]

P = f"{REST}/projects"


def _series(api: ApiHarness, run_id: str, name: str, context: dict[str, Any], dtype: str) -> None:
    def write(tr: Any) -> None:
        ctx = runs.set_context(tr, run_id, context)
        value: Any = 0.5 if dtype == "float" else "x"
        runs.write_run_series(tr, SeriesKey(run_id, ctx, name), [Point(0, value)], dtype)

    api.engine.transact(write)


def test_project_info(api: ApiHarness) -> None:
    body = api.client.get(P).json()
    assert body == {
        "name": "My project",
        "path": "",
        "description": "",
        "telemetry_enabled": 0,
        "warn_index": False,
        "warn_runs": False,
    }


def test_activity_empty_then_counts(api: ApiHarness) -> None:
    body = api.client.get(f"{P}/activity").json()
    assert body == {
        "num_experiments": 0,
        "num_runs": 0,
        "num_archived_runs": 0,
        "num_active_runs": 0,
        "activity_map": {},
    }
    api.engine.transact(lambda tr: create_experiment(tr, "e1"))
    # 2024-01-01T23:30:00Z and 2024-01-02T00:30:00Z
    make_run(api.engine, "r1", created_at=1704151800.0)
    make_run(api.engine, "r2", created_at=1704155400.0, archived=True)
    body = api.client.get(f"{P}/activity/").json()
    assert body["num_experiments"] == 1
    assert body["num_runs"] == 2
    assert body["num_active_runs"] == 2
    assert body["num_archived_runs"] == 1
    assert body["activity_map"] == {"2024-01-01T00:00:00": 1, "2024-01-02T00:00:00": 1}
    # UTC+3 sends -180: both runs fall on 2024-01-02 locally.
    body = api.client.get(f"{P}/activity/", headers={"X-Timezone-Offset": "-180"}).json()
    assert body["activity_map"] == {"2024-01-02T00:00:00": 2}


def test_activity_counts_pending_run_until_deindexed(api: ApiHarness) -> None:
    make_run(api.engine, "keep")
    make_run(api.engine, "gone")
    api.engine.transact(lambda tr: runs.mark_pending_deletion(tr, "gone"))
    api.engine.transact(lambda tr: indexes.deindex_run(tr, "gone"))
    assert api.client.get(f"{P}/activity/").json()["num_runs"] == 1


def test_activity_bad_offset_is_422(api: ApiHarness) -> None:
    response = api.client.get(f"{P}/activity/", headers={"X-Timezone-Offset": "soon"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


def test_params_empty_and_full(api: ApiHarness) -> None:
    body = api.client.get(f"{P}/params").json()
    assert body == {
        "params": {},
        "metric": {},
        "images": {},
        "texts": {},
        "figures": {},
        "distributions": {},
        "audios": {},
    }
    api.app.state.project_params_cache.clear()
    make_run(api.engine, "a", created_at=1.0, attrs={"hp": {"lr": 0.1, "bs": 8}, "__system_params": {"x": 1}})
    make_run(api.engine, "b", created_at=2.0, attrs={"hp": {"lr": 0.2}, "__blobs__": {"m": "k"}})
    make_run(api.engine, "pending", created_at=3.0, attrs={"secret": 1})
    api.engine.transact(lambda tr: runs.mark_pending_deletion(tr, "pending"))
    _series(api, "a", "loss", {"subset": "train"}, "float")
    _series(api, "b", "loss", {"subset": "val"}, "float")
    _series(api, "b", "loss", {"subset": "train"}, "float")
    _series(api, "a", "samples", {}, "image")
    _series(api, "a", "logs", {}, "logs")
    body = api.client.get(f"{P}/params/").json()
    assert body["params"] == {"hp": {"lr": 0.2, "bs": 8}}
    assert body["metric"] == {"loss": [{"subset": "train"}, {"subset": "val"}]}
    assert body["images"] == {"samples": [{}]}
    assert "logs" not in body["metric"]


def test_params_sequence_filter_and_exclude(api: ApiHarness) -> None:
    make_run(api.engine, "a", attrs={"hp": 1})
    _series(api, "a", "loss", {}, "float")
    _series(api, "a", "samples", {}, "image")
    body = api.client.get(f"{P}/params/", params={"sequence": "metric", "exclude_params": "true"}).json()
    assert "params" not in body
    assert "loss" in body["metric"]
    assert body["images"] == {}
    assert set(body) == {"metric", "images", "texts", "figures", "distributions", "audios"}
    body = api.client.get(f"{P}/params/", params=[("sequence", "images"), ("sequence", "metric")]).json()
    assert body["images"] == {"samples": [{}]}
    assert body["params"] == {"hp": 1}
    response = api.client.get(f"{P}/params/", params={"sequence": "bogus"})
    assert response.status_code == 422


def test_params_are_cached_per_key(api: ApiHarness) -> None:
    assert api.client.get(f"{P}/params/").json()["params"] == {}
    make_run(api.engine, "late", attrs={"new": True})
    assert api.client.get(f"{P}/params/").json()["params"] == {}  # within the TTL
    assert api.client.get(f"{P}/params/", params={"sequence": "texts"}).json()["params"] == {"new": True}


def test_pinned_sequences_round_trip(api: ApiHarness) -> None:
    assert api.client.get(f"{P}/pinned-sequences").json() == {"sequences": []}
    pinned = [{"name": "loss", "context": {"subset": "train"}}, {"name": "acc", "context": {}}]
    response = api.client.post(f"{P}/pinned-sequences/", json={"sequences": pinned})
    assert response.status_code == 200
    assert response.json() == {"sequences": pinned}
    assert api.client.get(f"{P}/pinned-sequences/").json() == {"sequences": pinned}
    response = api.client.post(f"{P}/pinned-sequences/", json={})
    assert response.status_code == 422
    assert response.json()["detail"] == "Field required"


def test_status(api: ApiHarness) -> None:
    for path in (f"{P}/status", f"{P}/status/"):
        response = api.client.get(path)
        assert response.status_code == 200
        assert response.json() == "up-to-date"


def test_activity_bucket_formats() -> None:
    assert activity_bucket(3600 * 25.5, 0, DAY_FORMAT) == "1970-01-02T00:00:00"
    assert activity_bucket(3600 * 25.5, 0, HOUR_FORMAT) == "1970-01-02T01:00:00"
    assert activity_bucket(3600 * 25.5, 120, HOUR_FORMAT) == "1970-01-01T23:00:00"
    assert activity_bucket(0, 10**12, DAY_FORMAT) == "1970-01-01T00:00:00"


def test_merge_params_recursive_last_wins() -> None:
    merged: dict[str, Any] = {}
    merge_params(merged, {"a": {"x": 1, "y": {"z": 1}}, "b": 1})
    merge_params(merged, {"a": {"y": {"w": 2}}, "b": {"c": 3}})
    assert merged == {"a": {"x": 1, "y": {"z": 1, "w": 2}}, "b": {"c": 3}}


def test_ttl_cache_expiry_and_size() -> None:
    now = [0.0]
    cache: TTLCache[str, int] = TTLCache(ttl=10, maxsize=2, clock=lambda: now[0])
    cache.set("a", 1)
    cache.set("b", 2)
    cache.set("c", 3)
    assert cache.get("a") is None
    assert cache.get("b") == 2
    now[0] = 10.0
    assert cache.get("c") is None
    assert len(cache) == 1


async def test_params_concurrent_requests_compute_once(
    api: ApiHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Found by the API bench: on 10k runs one computation takes seconds, and without coalescing every
    # request arriving meanwhile started its own.
    make_run(api.engine, "a", attrs={"hp": 1})
    real = compute_project_params
    calls = 0
    entered = asyncio.Event()
    release = asyncio.Event()

    async def counting(engine: Any, *, sequences: Any, exclude_params: bool) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        entered.set()
        await release.wait()
        return await real(engine, sequences=sequences, exclude_params=exclude_params)

    monkeypatch.setattr(projects_routes, "compute_project_params", counting)
    transport = httpx.ASGITransport(app=api.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        pending = [asyncio.ensure_future(client.get(f"{P}/params/")) for _ in range(5)]
        await entered.wait()
        for _ in range(200):  # let every request reach the route while the first computation waits
            await asyncio.sleep(0)
        release.set()
        responses = await asyncio.gather(*pending)
    assert calls == 1
    assert [r.json()["params"] for r in responses] == [{"hp": 1}] * 5
