"""``/api/v1/rest/tags``: CRUD, search, runs of a tag, and the delete side effects."""

from __future__ import annotations

import uuid
from functools import partial

from api_fixtures import REST, ApiHarness, api, make_run

from matyan_store import indexes, runs
from matyan_store.entities import create_experiment

__all__ = ["api"]

T = f"{REST}/tags"


def _create(api: ApiHarness, name: str, **extra: str | None) -> str:
    response = api.client.post(f"{T}/", json={"name": name, **extra})
    assert response.status_code == 200
    assert response.json()["status"] == "OK"
    tag_id: str = response.json()["id"]
    return tag_id


def test_create_list_search(api: ApiHarness) -> None:
    assert api.client.get(T).json() == []
    a = _create(api, " release-1 ", color=" #f00 ", description=" first ")
    _create(api, "pre-release")
    _create(api, "nightly")
    tag = api.client.get(f"{T}/{a}").json()
    assert tag == {
        "id": a,
        "name": "release-1",
        "color": "#f00",
        "description": "first",
        "run_count": 0,
        "archived": False,
    }
    plain = next(t for t in api.client.get(f"{T}/").json() if t["name"] == "nightly")
    assert plain["color"] == ""
    assert plain["description"] == ""
    found = api.client.get(f"{T}/search", params={"q": "release"}).json()
    assert {t["name"] for t in found} == {"release-1", "pre-release"}
    assert api.client.get(f"{T}/search/", params={"q": "zzz"}).json() == []
    assert len(api.client.get(f"{T}/search/").json()) == 3


def test_duplicate_and_validation(api: ApiHarness) -> None:
    _create(api, "dup")
    response = api.client.post(f"{T}/", json={"name": "dup"})
    assert response.status_code == 400
    assert response.json()["detail"] == "Tag with name 'dup' already exists"
    assert api.client.post(f"{T}/", json={"color": "red"}).status_code == 422


def test_update(api: ApiHarness) -> None:
    tag_id = _create(api, "old", color="red", description="d")
    response = api.client.put(f"{T}/{tag_id}/", json={"name": " new ", "archived": True})
    assert response.json() == {"id": tag_id, "status": "OK"}
    tag = api.client.get(f"{T}/{tag_id}/").json()
    assert tag["name"] == "new"
    assert tag["archived"] is True
    assert tag["color"] == "red"
    assert tag["description"] == "d"
    api.client.put(f"{T}/{tag_id}/", json={"name": "", "color": " blue ", "description": " dd "})
    tag = api.client.get(f"{T}/{tag_id}/").json()
    assert (tag["name"], tag["color"], tag["description"]) == ("new", "blue", "dd")
    assert api.client.put(f"{T}/{uuid.uuid4()}/", json={"name": "x"}).status_code == 404


def test_runs_of_tag_and_rename_keeps_them(api: ApiHarness) -> None:
    exp = api.engine.transact(lambda tr: create_experiment(tr, "exp-a"))
    tag_id = _create(api, "best")
    make_run(api.engine, "r1", experiment_id=exp.id, name="one")
    make_run(api.engine, "r2")
    make_run(api.engine, "r3")
    for run_id in ("r1", "r2", "r3"):
        api.engine.transact(partial(runs.add_run_tag, run_id=run_id, tag_id=tag_id))
    api.engine.transact(lambda tr: runs.mark_pending_deletion(tr, "r3"))
    assert api.client.get(f"{T}/{tag_id}/").json()["run_count"] == 2
    body = api.client.get(f"{T}/{tag_id}/runs").json()
    assert body["id"] == tag_id
    assert {r["run_id"] for r in body["runs"]} == {"r1", "r2"}
    r1 = next(r for r in body["runs"] if r["run_id"] == "r1")
    assert r1["experiment"] == "exp-a"
    assert r1["name"] == "one"
    assert r1["end_time"] is None
    api.client.put(f"{T}/{tag_id}/", json={"name": "renamed"})
    assert {r["run_id"] for r in api.client.get(f"{T}/{tag_id}/runs/").json()["runs"]} == {"r1", "r2"}
    assert api.client.get(f"{T}/{uuid.uuid4()}/runs/").status_code == 404


def test_delete_unlinks_runs_and_publishes(api: ApiHarness) -> None:
    tag_id = _create(api, "doomed")
    make_run(api.engine, "r1")
    api.engine.transact(lambda tr: runs.add_run_tag(tr, "r1", tag_id))
    response = api.client.delete(f"{T}/{tag_id}/")
    assert response.status_code == 200
    assert response.json() is None
    assert api.client.get(f"{T}/{tag_id}/").status_code == 404
    assert api.client.delete(f"{T}/{tag_id}/").status_code == 404
    assert api.engine.read(lambda tr: runs.get_run_tag_ids(tr, "r1")) == []
    assert api.engine.read(lambda tr: indexes.lookup(tr, "tag", tag_id)) == []
    events = api.publisher.of_type("tag_deleted")
    assert [e.value["payload"] for e in events] == [{"tag_id": tag_id}]


def test_double_slash_as_the_ui_sends_it(api: ApiHarness) -> None:
    tag_id = _create(api, "slashy")
    response = api.client.get(f"{T}//{tag_id}")
    assert response.status_code == 200
    assert response.json()["name"] == "slashy"
