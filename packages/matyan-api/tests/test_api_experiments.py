"""``/api/v1/rest/experiments``: CRUD, search, runs, activity, notes, and the delete side effects."""

from __future__ import annotations

import uuid

from api_fixtures import REST, ApiHarness, api, make_run

from matyan_store import runs
from matyan_store.entities import get_experiment

__all__ = ["api"]

E = f"{REST}/experiments"


def _create(api: ApiHarness, name: str) -> str:
    response = api.client.post(f"{E}/", json={"name": name})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "OK"
    exp_id: str = body["id"]
    return exp_id


def test_list_search_create(api: ApiHarness) -> None:
    assert api.client.get(E).json() == []
    ids = {_create(api, n) for n in ("target-one", "other", "  spaced  ")}
    listed = api.client.get(f"{E}/").json()
    assert {e["id"] for e in listed} == ids
    assert {e["name"] for e in listed} == {"target-one", "other", "spaced"}
    first = listed[0]
    assert set(first) == {"id", "name", "description", "run_count", "archived", "creation_time"}
    assert first["run_count"] == 0
    assert first["archived"] is False
    assert isinstance(first["creation_time"], float)
    found = api.client.get(f"{E}/search", params={"q": "TARGET"}).json()
    assert [e["name"] for e in found] == ["target-one"]
    assert len(api.client.get(f"{E}/search/", params={"q": ""}).json()) == 3
    assert len(api.client.get(f"{E}/search/").json()) == 3


def test_create_duplicate_missing_and_empty_name(api: ApiHarness) -> None:
    _create(api, "dup")
    response = api.client.post(f"{E}/", json={"name": " dup "})
    assert response.status_code == 400
    assert response.json()["detail"] == "Experiment with name 'dup' already exists"
    assert response.json()["error"]["code"] == "bad_request"
    response = api.client.post(f"{E}/", json={})
    assert response.status_code == 422
    assert response.json()["error"] == {"code": "validation_error", "message": "Field required"}
    assert api.client.post(f"{E}/", json={"name": "   "}).status_code == 400


def test_get_update_delete(api: ApiHarness) -> None:
    exp_id = _create(api, "first")
    assert api.client.get(f"{E}/{exp_id}").json()["name"] == "first"
    assert api.client.get(f"{E}/{uuid.uuid4()}/").status_code == 404
    assert api.client.get(f"{E}/not-a-uuid/").status_code == 404

    response = api.client.put(f"{E}/{exp_id}/", json={"name": "renamed", "description": "d"})
    assert response.json() == {"id": exp_id, "status": "OK"}
    # Only fields present change: archiving keeps the description (the reference reset it).
    api.client.put(f"{E}/{exp_id}/", json={"archived": True})
    body = api.client.get(f"{E}/{exp_id}/").json()
    assert body["name"] == "renamed"
    assert body["description"] == "d"
    assert body["archived"] is True
    api.client.put(f"{E}/{exp_id}/", json={"name": "", "description": None})
    body = api.client.get(f"{E}/{exp_id}/").json()
    assert body["name"] == "renamed"
    assert body["description"] == ""
    assert api.client.put(f"{E}/{uuid.uuid4()}/", json={"name": "x"}).status_code == 404

    response = api.client.delete(f"{E}/{exp_id}/")
    assert response.json() == {"status": "OK"}
    assert api.client.get(f"{E}/{exp_id}/").status_code == 404
    assert api.client.delete(f"{E}/{exp_id}/").status_code == 404
    events = api.publisher.of_type("experiment_deleted")
    assert len(events) == 1
    assert events[0].topic == "control-events"
    assert events[0].value["payload"] == {"experiment_id": exp_id}


def test_delete_detaches_runs_in_the_same_transaction(api: ApiHarness) -> None:
    exp_id = _create(api, "with-runs")
    make_run(api.engine, "r1", experiment_id=exp_id)
    assert api.client.get(f"{E}/{exp_id}/").json()["run_count"] == 1
    api.client.delete(f"{E}/{exp_id}/")
    meta = api.engine.read(lambda tr: runs.get_run(tr, "r1"))
    assert meta is not None
    assert meta.experiment_id is None
    assert api.engine.read(lambda tr: get_experiment(tr, exp_id)) is None
    # The name is free again.
    _create(api, "with-runs")


def test_experiment_runs_paging(api: ApiHarness) -> None:
    exp_id = _create(api, "paged")
    for run_id in ("a1", "b2", "c3"):
        make_run(api.engine, run_id, experiment_id=exp_id, name=f"run {run_id}")
    api.engine.transact(lambda tr: runs.update_run(tr, "a1", active=False, finalized_at=123.0))
    body = api.client.get(f"{E}/{exp_id}/runs").json()
    assert body["id"] == exp_id
    assert [r["run_id"] for r in body["runs"]] == ["a1", "b2", "c3"]
    assert body["runs"][0] == {
        "run_id": "a1",
        "name": "run a1",
        "creation_time": body["runs"][0]["creation_time"],
        "end_time": 123.0,
        "archived": False,
    }
    after = api.client.get(f"{E}/{exp_id}/runs/", params={"offset": "a1"}).json()
    assert [r["run_id"] for r in after["runs"]] == ["b2", "c3"]
    unknown = api.client.get(f"{E}/{exp_id}/runs/", params={"offset": "zz-unknown"}).json()
    assert len(unknown["runs"]) == 3
    assert len(api.client.get(f"{E}/{exp_id}/runs/", params={"limit": 2}).json()["runs"]) == 2
    # limit slices before pending runs are dropped.
    api.engine.transact(lambda tr: runs.mark_pending_deletion(tr, "a1"))
    assert [r["run_id"] for r in api.client.get(f"{E}/{exp_id}/runs/").json()["runs"]] == ["b2", "c3"]
    assert api.client.get(f"{E}/{uuid.uuid4()}/runs/").status_code == 404
    assert api.client.get(f"{E}/{exp_id}/runs/", params={"limit": "x"}).status_code == 422


def test_experiment_activity(api: ApiHarness) -> None:
    exp_id = _create(api, "busy")
    make_run(api.engine, "r1", experiment_id=exp_id, created_at=3600 * 5 + 10)
    body = api.client.get(f"{E}/{exp_id}/activity").json()
    assert body == {
        "num_runs": 1,
        "num_archived_runs": 0,
        "num_active_runs": 1,
        "activity_map": {"1970-01-01T05:00:00": 1},
    }
    make_run(api.engine, "r2", experiment_id=exp_id, created_at=3600 * 5 + 20, archived=True, active=False)
    body = api.client.get(f"{E}/{exp_id}/activity/", headers={"X-Timezone-Offset": "60"}).json()
    assert body["num_runs"] == 2
    assert body["num_archived_runs"] == 1
    assert body["num_active_runs"] == 1
    assert body["activity_map"] == {"1970-01-01T04:00:00": 2}
    assert api.client.get(f"{E}/{uuid.uuid4()}/activity/").status_code == 404


def test_notes_crud_and_owner_check(api: ApiHarness) -> None:
    exp_id = _create(api, "noted")
    other_id = _create(api, "other")
    response = api.client.post(f"{E}/{exp_id}/note/", json={"content": "  hello  "})
    assert response.status_code == 201
    note_id = response.json()["id"]
    assert isinstance(response.json()["created_at"], float)
    got = api.client.get(f"{E}/{exp_id}/note/{note_id}").json()
    assert got["content"] == "hello"
    assert set(got) == {"id", "content", "updated_at"}
    listed = api.client.get(f"{E}/{exp_id}/note/").json()
    assert [n["id"] for n in listed] == [note_id]
    assert listed[0]["experiment_id"] == exp_id
    # Through another experiment the note does not exist.
    assert api.client.get(f"{E}/{other_id}/note/{note_id}/").status_code == 404
    assert api.client.put(f"{E}/{other_id}/note/{note_id}/", json={"content": "x"}).status_code == 404
    assert api.client.delete(f"{E}/{other_id}/note/{note_id}/").status_code == 404
    updated = api.client.put(f"{E}/{exp_id}/note/{note_id}/", json={"content": "new"}).json()
    assert updated["content"] == "new"
    assert api.client.delete(f"{E}/{exp_id}/note/{note_id}/").json() == {"status": "OK"}
    assert api.client.get(f"{E}/{exp_id}/note/{note_id}/").status_code == 404
    for method in ("get", "delete"):
        assert api.client.request(method, f"{E}/{exp_id}/note/fake-id/").status_code == 404
    assert api.client.put(f"{E}/{exp_id}/note/fake-id/", json={"content": "x"}).status_code == 404
    missing = uuid.uuid4()
    assert api.client.get(f"{E}/{missing}/note/").status_code == 404
    assert api.client.post(f"{E}/{missing}/note/", json={"content": "x"}).status_code == 404
    assert api.client.post(f"{E}/{exp_id}/note/", json={}).status_code == 422
