"""``/projects/params/`` answers from the store's catalogue: deletes through the API take effect, and
the answer equals the scan of every run."""

from __future__ import annotations

from typing import Any

from api_fixtures import REST, ApiHarness, api, make_run

from matyan_api.project_params import SEQUENCE_TYPES, response_body
from matyan_store import runs
from matyan_store.params_catalogue import scan_project_params
from matyan_store.sequences import Point, SeriesKey

__all__ = ["api"]

P = f"{REST}/projects/params/"


def _params(api: ApiHarness, **query: Any) -> dict[str, Any]:
    cache = getattr(api.app.state, "project_params_cache", None)
    if cache is not None:  # made by the first request
        cache.clear()
    response = api.client.get(P, params=query)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _scan_body(api: ApiHarness) -> dict[str, Any]:
    return response_body(scan_project_params(api.engine), sequences=SEQUENCE_TYPES, exclude_params=False)


def test_deleting_a_run_removes_what_only_it_had(api: ApiHarness) -> None:
    make_run(api.engine, "old", created_at=1.0, attrs={"hp": {"lr": 0.1}, "seed": 1})
    make_run(api.engine, "new", created_at=2.0, attrs={"hp": {"lr": 0.5, "wd": 0.01}})

    def series(tr: Any) -> None:
        for run_id, subset in (("old", "train"), ("new", "val")):
            ctx = runs.set_context(tr, run_id, {"subset": subset})
            runs.write_run_series(tr, SeriesKey(run_id, ctx, "loss"), [Point(0, 1.0)], "float")
        ctx = runs.set_context(tr, "new", {})
        runs.write_run_series(tr, SeriesKey("new", ctx, "pics"), [Point(0, "x")], "image")

    api.engine.transact(series)
    body = _params(api)
    assert body["params"] == {"hp": {"lr": 0.5, "wd": 0.01}, "seed": 1}
    assert body["metric"] == {"loss": [{"subset": "train"}, {"subset": "val"}]}
    assert body["images"] == {"pics": [{}]}
    assert body == _scan_body(api)

    assert api.client.delete(f"{REST}/runs/new/").status_code == 200
    body = _params(api)
    assert body["params"] == {"hp": {"lr": 0.1}, "seed": 1}
    assert body["metric"] == {"loss": [{"subset": "train"}]}
    assert body["images"] == {}
    assert body == _scan_body(api)

    response = api.client.post(f"{REST}/runs/delete-batch/", json=["old"])
    assert response.status_code == 200
    empty: dict[str, Any] = {kind: {} for kind in SEQUENCE_TYPES}
    assert _params(api) == {"params": {}, **empty}
