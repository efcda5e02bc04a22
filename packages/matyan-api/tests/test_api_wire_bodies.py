"""The JSON bodies of the project, experiment-note, version and health routes, byte for byte.

As for the run routes (test_api_runs_wire_bodies.py): each expected body is built from the seeded data and
rendered the way the routes always rendered JSON, and it must fit the response model its route declares
(validated by that model and rendered again, it comes out unchanged).
"""

from __future__ import annotations

import math
from typing import Any

from api_fixtures import REST, ApiHarness, api, declared_model, make_run, wire

from matyan_api.routes.version import backend_version
from matyan_store import entities, runs
from matyan_store.sequences import Point, SeriesKey

__all__ = ["api"]

HPARAMS: dict[str, Any] = {
    "big": 10**20,
    "flag": True,
    "float": 2.0,
    "inf": math.inf,
    "int": 3,
    "list": [1, 2.5, None, "x"],
    "nan": math.nan,
    "neg_zero": -0.0,
    "nested": {"deep": {"lr": 1e-05}},
    "none": None,
    "text": "é ✓ \u2028",
}
JSON_HPARAMS = {**HPARAMS, "inf": None, "nan": None}
EMPTY_BUCKETS: dict[str, Any] = {
    "metric": {},
    "images": {},
    "texts": {},
    "figures": {},
    "distributions": {},
    "audios": {},
}


def _call(api: ApiHarness, method: str, url: str, expected: Any, *, status: int = 200) -> None:
    response = api.client.request(method, url)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.content == wire(expected)
    model = declared_model(api.app, method, url)
    again = model.dump_python(model.validate_json(response.content), mode="json", exclude_unset=True)
    assert wire(again) == response.content


def test_project_params_body_and_its_cached_copy(api: ApiHarness) -> None:
    make_run(api.engine, "a", created_at=1.0, attrs={"hp": HPARAMS})

    def series(tr: Any) -> None:
        ctx = runs.set_context(tr, "a", {"subset": "train", "none": None})
        runs.write_run_series(tr, SeriesKey("a", ctx, "loss"), [Point(0, 1.0)], "float")
        runs.write_run_series(
            tr, SeriesKey("a", runs.set_context(tr, "a", {}), "pics"), [Point(0, "x")], "image"
        )

    api.engine.transact(series)
    url = f"{REST}/projects/params/"
    expected = {
        "params": {"hp": JSON_HPARAMS},
        **EMPTY_BUCKETS,
        "metric": {"loss": [{"subset": "train", "none": None}]},
        "images": {"pics": [{}]},
    }
    _call(api, "GET", url, expected)
    _call(api, "GET", url, expected)  # from the cache
    _call(
        api, "GET", f"{url}?exclude_params=true&sequence=images", {**EMPTY_BUCKETS, "images": {"pics": [{}]}}
    )


def test_experiment_notes_version_health_and_status_bodies(api: ApiHarness) -> None:
    exp = api.client.post(f"{REST}/experiments/", json={"name": "e"}).json()["id"]
    for content in (" première ", "two"):
        assert (
            api.client.post(f"{REST}/experiments/{exp}/note/", json={"content": content}).status_code == 201
        )
    notes = api.engine.read(lambda tr: entities.list_notes_for_experiment(tr, exp))
    assert [n.content for n in sorted(notes, key=lambda n: n.created_at)] == ["première", "two"]
    listed = [
        {
            "id": n.id,
            "content": n.content,
            "created_at": n.created_at,
            "updated_at": n.updated_at,
            "experiment_id": exp,
        }
        for n in notes
    ]
    _call(api, "GET", f"{REST}/experiments/{exp}/note/", listed)
    version = {
        "version": backend_version(),
        "component": "backend",
        "fdb_api_version": api.settings.store.engine.fdb_api_version,
    }
    _call(api, "GET", f"{REST}/version/", version)
    _call(api, "GET", f"{REST}/projects/status/", "up-to-date")
    _call(api, "GET", "/health/live/", {"status": "ok"})
    kafka = {"control_producer": True, "ingestion_producer": True}
    _call(
        api, "GET", "/health/ready/", {"status": "ok", "checks": {"fdb": "ok", "blobs": "ok", "kafka": kafka}}
    )
    api.publisher.ready = False
    degraded = {"fdb": "ok", "blobs": "ok", "kafka": {"control_producer": False, "ingestion_producer": False}}
    _call(api, "GET", "/health/ready/", {"status": "degraded", "checks": degraded}, status=503)
