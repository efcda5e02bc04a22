"""PUT/DELETE /runs/{id}/, delete/archive/finish batches, clear-tombstone (docs/http-contract.md, Routes)."""

from __future__ import annotations

import httpx
from api_runs_fixtures import (
    BASE,
    assert_envelope,
    make_run,
    read_meta,
    run_url,
    runs_blobs,
    runs_client,
    runs_engine,
    runs_publisher,
)

from matyan_api.kafka_publisher import RecordingPublisher
from matyan_store import entities, indexes, tombstones
from matyan_store.engine import Engine
from matyan_store.runs import get_run

__all__ = ["runs_blobs", "runs_client", "runs_engine", "runs_publisher"]


async def _props(client: httpx.AsyncClient, run_id: str) -> dict[str, object]:
    response = await client.get(run_url(run_id, "info/"))
    assert response.status_code == 200, response.text
    props: dict[str, object] = response.json()["props"]
    return props


# -- PUT ---------------------------------------------------------------------------------------------


async def test_put_name_and_description(runs_client: httpx.AsyncClient, runs_engine: Engine) -> None:
    make_run(runs_engine, "r1")
    response = await runs_client.put(run_url("r1"), json={"name": "Renamed", "description": "about"})
    assert response.status_code == 200
    assert response.json() == {"id": "r1", "status": "OK"}
    props = await _props(runs_client, "r1")
    assert (props["name"], props["description"]) == ("Renamed", "about")


async def test_put_without_slash_and_nulls_change_nothing(
    runs_client: httpx.AsyncClient, runs_engine: Engine, runs_publisher: RecordingPublisher
) -> None:
    make_run(runs_engine, "r1", name="keep", description="this")
    response = await runs_client.put(run_url("r1").rstrip("/"), json={"name": None, "archived": None})
    assert response.status_code == 200
    props = await _props(runs_client, "r1")
    assert (props["name"], props["description"], props["archived"]) == ("keep", "this", False)
    assert runs_publisher.messages == []


async def test_put_archived_publishes_control_events(
    runs_client: httpx.AsyncClient, runs_engine: Engine, runs_publisher: RecordingPublisher
) -> None:
    make_run(runs_engine, "r1")
    assert (await runs_client.put(run_url("r1"), json={"archived": True})).status_code == 200
    assert (await _props(runs_client, "r1"))["archived"] is True
    assert runs_engine.read(lambda tr: indexes.lookup(tr, "archived", True)) == ["r1"]
    assert (await runs_client.put(run_url("r1"), json={"archived": False})).status_code == 200
    assert (await _props(runs_client, "r1"))["archived"] is False
    events = [(m.topic, m.key, m.value["type"], m.value["payload"]) for m in runs_publisher.messages]
    assert events == [
        ("control-events", None, "run_archived", {"run_id": "r1", "archived": True}),
        ("control-events", None, "run_unarchived", {"run_id": "r1", "archived": False}),
    ]


async def test_put_active_false_then_true(runs_client: httpx.AsyncClient, runs_engine: Engine) -> None:
    make_run(runs_engine, "r1")
    props = await _props(runs_client, "r1")
    assert (props["active"], props["end_time"]) == (True, None)
    await runs_client.put(run_url("r1"), json={"active": False})
    props = await _props(runs_client, "r1")
    assert props["active"] is False
    assert isinstance(props["end_time"], float)
    await runs_client.put(run_url("r1"), json={"active": True})
    props = await _props(runs_client, "r1")
    assert (props["active"], props["end_time"]) == (True, None)


async def test_put_active_false_keeps_existing_end_time(
    runs_client: httpx.AsyncClient, runs_engine: Engine
) -> None:
    make_run(runs_engine, "r1", active=False, finalized_at=1234.5)
    await runs_client.put(run_url("r1"), json={"active": False})
    assert (await _props(runs_client, "r1"))["end_time"] == 1234.5


async def test_put_experiment_by_name_attaches_and_unknown_detaches(
    runs_client: httpx.AsyncClient, runs_engine: Engine
) -> None:
    make_run(runs_engine, "r1", experiment="old")
    target = runs_engine.transact(lambda tr: entities.create_experiment(tr, "target-exp"))
    assert (await runs_client.put(run_url("r1"), json={"experiment": "target-exp"})).status_code == 200
    assert (await _props(runs_client, "r1"))["experiment"] == {
        "id": target.id,
        "name": "target-exp",
        "description": "",
    }
    counts = runs_engine.read(lambda tr: {e.name: e.run_count for e in entities.list_experiments(tr)})
    assert counts == {"old": 0, "target-exp": 1}
    assert runs_engine.read(lambda tr: indexes.lookup(tr, "experiment", target.id)) == ["r1"]

    assert (await runs_client.put(run_url("r1"), json={"experiment": "no-such"})).status_code == 200
    assert (await _props(runs_client, "r1"))["experiment"]["id"] is None  # type: ignore[index]
    assert runs_engine.read(lambda tr: entities.get_experiment(tr, target.id)).run_count == 0  # type: ignore[union-attr]
    assert runs_engine.read(lambda tr: indexes.lookup(tr, "experiment", target.id)) == []
    assert runs_engine.read(lambda tr: entities.get_experiment_by_name(tr, "no-such")) is None


async def test_put_unknown_run_is_404(runs_client: httpx.AsyncClient) -> None:
    assert_envelope(await runs_client.put(run_url("nope"), json={"name": "x"}), 404, "not_found")


async def test_put_invalid_body_is_422(runs_client: httpx.AsyncClient, runs_engine: Engine) -> None:
    make_run(runs_engine, "r1")
    assert_envelope(
        await runs_client.put(run_url("r1"), json={"archived": "sometimes"}), 422, "validation_error"
    )
    assert_envelope(
        await runs_client.put(run_url("r1"), json=["not", "an", "object"]), 422, "validation_error"
    )


# -- DELETE ------------------------------------------------------------------------------------------


async def test_delete_flags_pending_hides_and_publishes(
    runs_client: httpx.AsyncClient, runs_engine: Engine, runs_publisher: RecordingPublisher
) -> None:
    make_run(runs_engine, "r1")
    response = await runs_client.delete(run_url("r1"))
    assert response.status_code == 200
    assert response.json() == {"id": "r1", "status": "OK"}
    meta = read_meta(runs_engine, "r1")
    assert meta is not None
    assert meta.pending_deletion is True
    assert runs_engine.read(lambda tr: get_run(tr, "r1")) is None
    assert_envelope(await runs_client.get(run_url("r1", "info/")), 404, "not_found")
    assert_envelope(await runs_client.put(run_url("r1"), json={"name": "x"}), 404, "not_found")
    [message] = runs_publisher.messages
    assert (message.topic, message.key) == ("data-ingestion", "r1")
    assert message.value["type"] == "delete_run"
    assert message.value["run_id"] == "r1"
    assert message.value["payload"] == {}
    assert "timestamp" in message.value


async def test_delete_again_answers_200(
    runs_client: httpx.AsyncClient, runs_engine: Engine, runs_publisher: RecordingPublisher
) -> None:
    make_run(runs_engine, "r1")
    assert (await runs_client.delete(run_url("r1"))).status_code == 200
    assert (await runs_client.delete(run_url("r1"))).status_code == 200
    assert [m.key for m in runs_publisher.of_type("delete_run")] == ["r1", "r1"]


async def test_delete_unknown_is_404_and_publishes_nothing(
    runs_client: httpx.AsyncClient, runs_publisher: RecordingPublisher
) -> None:
    assert_envelope(await runs_client.delete(run_url("nope")), 404, "not_found")
    assert runs_publisher.messages == []


async def test_delete_survives_a_failing_publisher(
    runs_client: httpx.AsyncClient, runs_engine: Engine, runs_publisher: RecordingPublisher
) -> None:
    make_run(runs_engine, "r1")
    runs_publisher.fail = True
    assert (await runs_client.delete(run_url("r1"))).status_code == 200
    meta = read_meta(runs_engine, "r1")
    assert meta is not None
    assert meta.pending_deletion


async def test_delete_batch(
    runs_client: httpx.AsyncClient, runs_engine: Engine, runs_publisher: RecordingPublisher
) -> None:
    for run_id in ("a", "b", "c"):
        make_run(runs_engine, run_id)
    response = await runs_client.post(f"{BASE}/runs/delete-batch", json=["a", "b", "unknown", "a"])
    assert response.status_code == 200
    assert response.json() == {"status": "OK"}
    pending = {r: getattr(read_meta(runs_engine, r), "pending_deletion", None) for r in ("a", "b", "c")}
    assert pending == {"a": True, "b": True, "c": False}
    assert read_meta(runs_engine, "unknown") is None
    assert [(m.key, m.value["type"]) for m in runs_publisher.messages] == [
        ("a", "delete_run"),
        ("b", "delete_run"),
        ("unknown", "delete_run"),
    ]


async def test_delete_batch_needs_a_list(runs_client: httpx.AsyncClient) -> None:
    assert_envelope(
        await runs_client.post(f"{BASE}/runs/delete-batch/", json={"a": 1}), 422, "validation_error"
    )


# -- batches ---------------------------------------------------------------------------------------


async def test_archive_batch_true_and_false(
    runs_client: httpx.AsyncClient, runs_engine: Engine, runs_publisher: RecordingPublisher
) -> None:
    make_run(runs_engine, "a")
    make_run(runs_engine, "b")
    url = f"{BASE}/runs/archive-batch/"
    assert (
        await runs_client.post(url, params={"archive": "true"}, json=["a", "b", "ghost"])
    ).status_code == 200
    assert [(await _props(runs_client, r))["archived"] for r in ("a", "b")] == [True, True]
    assert read_meta(runs_engine, "ghost") is None
    assert (await runs_client.post(url, params={"archive": "false"}, json=["a", "b"])).status_code == 200
    assert [(await _props(runs_client, r))["archived"] for r in ("a", "b")] == [False, False]
    assert [(m.value["type"], m.value["payload"]["run_id"]) for m in runs_publisher.messages] == [
        ("run_archived", "a"),
        ("run_archived", "b"),
        ("run_unarchived", "a"),
        ("run_unarchived", "b"),
    ]


async def test_archive_batch_defaults_to_archive(runs_client: httpx.AsyncClient, runs_engine: Engine) -> None:
    make_run(runs_engine, "a")
    assert (await runs_client.post(f"{BASE}/runs/archive-batch", json=["a"])).json() == {"status": "OK"}
    assert (await _props(runs_client, "a"))["archived"] is True


async def test_finish_batch(runs_client: httpx.AsyncClient, runs_engine: Engine) -> None:
    make_run(runs_engine, "a")
    make_run(runs_engine, "b", active=False, finalized_at=99.0)
    response = await runs_client.post(f"{BASE}/runs/finish-batch/", json=["a", "b", "ghost"])
    assert response.json() == {"status": "OK"}
    a, b = await _props(runs_client, "a"), await _props(runs_client, "b")
    assert a["active"] is False
    assert isinstance(a["end_time"], float)
    assert (b["active"], b["end_time"]) == (False, 99.0)
    assert read_meta(runs_engine, "ghost") is None
    assert (await runs_client.post(f"{BASE}/runs/finish-batch/", json=[])).status_code == 200


async def test_batches_span_several_transactions(
    runs_client: httpx.AsyncClient, runs_engine: Engine, runs_publisher: RecordingPublisher
) -> None:
    ids = [f"run-{i:03d}" for i in range(230)]
    for run_id in ids:
        make_run(runs_engine, run_id)
    assert (await runs_client.post(f"{BASE}/runs/archive-batch/", json=ids)).status_code == 200
    assert sorted(runs_engine.read(lambda tr: indexes.lookup(tr, "archived", True))) == ids
    assert len(runs_publisher.of_type("run_archived")) == len(ids)


# -- clear-tombstone -------------------------------------------------------------------------------


async def test_clear_tombstone_is_204_and_idempotent(
    runs_client: httpx.AsyncClient, runs_engine: Engine
) -> None:
    runs_engine.transact(lambda tr: tombstones.mark_deleted(tr, "dead", 10.0))
    response = await runs_client.post(run_url("dead", "clear-tombstone/"))
    assert response.status_code == 204
    assert response.content == b""
    assert runs_engine.read(lambda tr: tombstones.is_deleted(tr, "dead")) is False
    assert (await runs_client.post(run_url("dead", "clear-tombstone"))).status_code == 204
    assert (await runs_client.post(run_url("never-existed", "clear-tombstone/"))).status_code == 204
