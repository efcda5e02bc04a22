"""Run tags (add by name, remove) and run notes CRUD (docs/http-contract.md, Routes)."""

from __future__ import annotations

import httpx
from api_runs_fixtures import (
    assert_envelope,
    make_run,
    run_url,
    runs_blobs,
    runs_client,
    runs_engine,
    runs_publisher,
)

from matyan_store import entities, indexes
from matyan_store.engine import Engine
from matyan_store.runs import get_run_tag_ids, mark_pending_deletion

__all__ = ["runs_blobs", "runs_client", "runs_engine", "runs_publisher"]


# -- tags --------------------------------------------------------------------------------------------


async def test_add_tag_creates_it_and_shows_in_info(
    runs_client: httpx.AsyncClient, runs_engine: Engine
) -> None:
    make_run(runs_engine, "r1")
    response = await runs_client.post(run_url("r1", "tags/new"), json={"tag_name": "  best  "})
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == "r1"
    assert body["status"] == "OK"
    tag = runs_engine.read(lambda tr: entities.get_tag_by_name(tr, "best"))
    assert tag is not None
    assert body["tag_id"] == tag.id
    assert tag.run_count == 1
    assert runs_engine.read(lambda tr: indexes.lookup(tr, "tag", tag.id)) == ["r1"]
    info = (await runs_client.get(run_url("r1", "info/"))).json()
    assert [t["name"] for t in info["props"]["tags"]] == ["best"]


async def test_add_existing_tag_twice_counts_once(
    runs_client: httpx.AsyncClient, runs_engine: Engine
) -> None:
    make_run(runs_engine, "r1")
    make_run(runs_engine, "r2")
    existing = runs_engine.transact(lambda tr: entities.create_tag(tr, "shared"))
    ids = set()
    for run_id in ("r1", "r1", "r2"):
        response = await runs_client.post(run_url(run_id, "tags/new/"), json={"tag_name": "shared"})
        ids.add(response.json()["tag_id"])
    assert ids == {existing.id}
    tag = runs_engine.read(lambda tr: entities.get_tag(tr, existing.id))
    assert tag is not None
    assert tag.run_count == 2
    assert runs_engine.read(lambda tr: get_run_tag_ids(tr, "r1")) == [existing.id]


async def test_add_tag_errors(runs_client: httpx.AsyncClient, runs_engine: Engine) -> None:
    assert_envelope(
        await runs_client.post(run_url("nope", "tags/new/"), json={"tag_name": "x"}), 404, "not_found"
    )
    assert runs_engine.read(lambda tr: entities.get_tag_by_name(tr, "x")) is None
    make_run(runs_engine, "r1")
    assert_envelope(await runs_client.post(run_url("r1", "tags/new/"), json={}), 422, "validation_error")
    assert_envelope(
        await runs_client.post(run_url("r1", "tags/new/"), json={"tag_name": "  "}), 422, "validation_error"
    )


async def test_remove_tag(runs_client: httpx.AsyncClient, runs_engine: Engine) -> None:
    make_run(runs_engine, "r1")
    tag_id = (await runs_client.post(run_url("r1", "tags/new/"), json={"tag_name": "t"})).json()["tag_id"]
    response = await runs_client.delete(run_url("r1", f"tags/{tag_id}"))
    assert response.status_code == 200
    assert response.json() == {"id": "r1", "removed": True, "status": "OK"}
    assert runs_engine.read(lambda tr: get_run_tag_ids(tr, "r1")) == []
    tag = runs_engine.read(lambda tr: entities.get_tag(tr, tag_id))
    assert tag is not None
    assert tag.run_count == 0
    # Removing a tag that is not linked still succeeds and counts nothing twice.
    again = await runs_client.delete(run_url("r1", f"tags/{tag_id}/"))
    assert again.json()["removed"] is True
    assert runs_engine.read(lambda tr: entities.get_tag(tr, tag_id)).run_count == 0  # type: ignore[union-attr]
    info = (await runs_client.get(run_url("r1", "info/"))).json()
    assert info["props"]["tags"] == []


async def test_remove_tag_unknown_run_is_404(runs_client: httpx.AsyncClient) -> None:
    assert_envelope(await runs_client.delete(run_url("nope", "tags/some-tag/")), 404, "not_found")


async def test_tag_routes_treat_pending_runs_as_missing(
    runs_client: httpx.AsyncClient, runs_engine: Engine
) -> None:
    make_run(runs_engine, "r1")
    runs_engine.transact(lambda tr: mark_pending_deletion(tr, "r1"))
    assert_envelope(
        await runs_client.post(run_url("r1", "tags/new/"), json={"tag_name": "x"}), 404, "not_found"
    )


# -- notes -------------------------------------------------------------------------------------------


async def test_note_crud(runs_client: httpx.AsyncClient, runs_engine: Engine) -> None:
    make_run(runs_engine, "r1")
    created = await runs_client.post(run_url("r1", "note/"), json={"content": "  first note \n"})
    assert created.status_code == 201
    body = created.json()
    assert set(body) == {"id", "created_at"}
    note_id = body["id"]

    got = await runs_client.get(run_url("r1", f"note/{note_id}"))
    assert got.status_code == 200
    assert got.json()["content"] == "first note"
    assert set(got.json()) == {"id", "content", "updated_at"}

    updated = await runs_client.put(run_url("r1", f"note/{note_id}/"), json={"content": "second"})
    assert updated.status_code == 200
    assert updated.json()["content"] == "second"
    assert updated.json()["id"] == note_id

    listed = (await runs_client.get(run_url("r1", "note"))).json()
    assert listed == [
        {
            "id": note_id,
            "content": "second",
            "created_at": body["created_at"],
            "updated_at": updated.json()["updated_at"],
            "run_hash": "r1",
        }
    ]

    deleted = await runs_client.delete(run_url("r1", f"note/{note_id}/"))
    assert deleted.status_code == 200
    assert deleted.json() == {"status": "OK"}
    assert_envelope(await runs_client.get(run_url("r1", f"note/{note_id}/")), 404, "not_found")
    assert (await runs_client.get(run_url("r1", "note/"))).json() == []


async def test_list_two_notes(runs_client: httpx.AsyncClient, runs_engine: Engine) -> None:
    make_run(runs_engine, "r1")
    for text in ("a", "b"):
        assert (await runs_client.post(run_url("r1", "note/"), json={"content": text})).status_code == 201
    notes = (await runs_client.get(run_url("r1", "note/"))).json()
    assert sorted(n["content"] for n in notes) == ["a", "b"]
    assert [n["id"] for n in notes] == sorted(n["id"] for n in notes)


async def test_another_runs_note_is_404(runs_client: httpx.AsyncClient, runs_engine: Engine) -> None:
    make_run(runs_engine, "r1")
    make_run(runs_engine, "r2")
    note_id = (await runs_client.post(run_url("r1", "note/"), json={"content": "mine"})).json()["id"]
    assert_envelope(await runs_client.get(run_url("r2", f"note/{note_id}/")), 404, "not_found")
    assert_envelope(
        await runs_client.put(run_url("r2", f"note/{note_id}/"), json={"content": "x"}), 404, "not_found"
    )
    assert_envelope(await runs_client.delete(run_url("r2", f"note/{note_id}/")), 404, "not_found")
    got = await runs_client.get(run_url("r1", f"note/{note_id}/"))
    assert got.json()["content"] == "mine"


async def test_note_errors(runs_client: httpx.AsyncClient, runs_engine: Engine) -> None:
    assert (await runs_client.get(run_url("nope", "note/"))).json() == []
    assert_envelope(await runs_client.post(run_url("nope", "note/"), json={"content": "x"}), 404, "not_found")
    make_run(runs_engine, "r1")
    assert_envelope(await runs_client.get(run_url("r1", "note/fake-id/")), 404, "not_found")
    assert_envelope(
        await runs_client.put(run_url("r1", "note/fake-id/"), json={"content": "x"}), 404, "not_found"
    )
    assert_envelope(await runs_client.delete(run_url("r1", "note/fake-id/")), 404, "not_found")
    assert_envelope(await runs_client.post(run_url("r1", "note/"), json={}), 422, "validation_error")
    assert_envelope(
        await runs_client.post(run_url("r1", "note/"), json={"content": 5}), 422, "validation_error"
    )


async def test_notes_of_a_pending_run_are_unreachable(
    runs_client: httpx.AsyncClient, runs_engine: Engine
) -> None:
    make_run(runs_engine, "r1")
    note_id = (await runs_client.post(run_url("r1", "note/"), json={"content": "x"})).json()["id"]
    runs_engine.transact(lambda tr: mark_pending_deletion(tr, "r1"))
    assert (await runs_client.get(run_url("r1", "note/"))).json() == []
    assert_envelope(await runs_client.get(run_url("r1", f"note/{note_id}/")), 404, "not_found")
