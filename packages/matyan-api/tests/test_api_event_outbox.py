"""The event outbox: what a route owes the broker is recorded with its write and published until acked.

Against a real tansu broker and real aiokafka producers: a producer pointed at a closed port leaves the
entries in the store; the drainer publishes them once the broker is there, in order per run.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from api_runs_fixtures import BASE, app_client, make_run, read_meta, run_url, runs_engine
from matyan_dev_services import KafkaService, kafka_ensure_topics

from matyan_api.event_outbox import EventOutboxDrainer, drain_once, pending, publish_recorded, record_archived
from matyan_api.kafka_publisher import KafkaPublisher, RecordingPublisher
from matyan_models.kafka_settings import KafkaSettings
from matyan_store import locks, outbox
from matyan_store.blobs import BlobSettings, BlobStore, open_blob_store
from matyan_store.engine import Engine

pytestmark = [pytest.mark.services, pytest.mark.timeout(120)]

__all__ = ["runs_engine"]


@pytest.fixture
def topics(kafka_service: KafkaService) -> tuple[str, str]:
    """A fresh ``(control, ingestion)`` topic pair, so nothing another test left behind is read."""
    tag = uuid.uuid4().hex[:10]
    control, data = f"outbox-control-{tag}", f"outbox-data-{tag}"
    kafka_ensure_topics(kafka_service.bootstrap_servers, {control: 1, data: 2})
    return control, data


@pytest.fixture
async def blobs(tmp_path: Path) -> AsyncIterator[BlobStore]:
    """A local-directory blob store."""
    store = open_blob_store(BlobSettings.from_values(blob_backend_type="local", blob_local_dir=str(tmp_path)))
    yield store
    await store.aclose()


def _kafka(bootstrap: str, topics: tuple[str, str]) -> KafkaSettings:
    control, data = topics
    return KafkaSettings(
        kafka_bootstrap_servers=bootstrap, kafka_control_events_topic=control, kafka_data_ingestion_topic=data
    )


def _pending(engine: Engine) -> list[tuple[str, str]]:
    return [(e.subject, str(e.payload["type"])) for e in engine.read(pending)]


async def _read(kafka: KafkaService, topic: str, count: int) -> list[tuple[bytes | None, dict[str, Any]]]:
    """The first ``count`` records of ``topic`` as ``(key, message)``."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=kafka.bootstrap_servers, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    records: list[Any] = []
    try:
        async with asyncio.timeout(60):
            while len(records) < count:
                for batch in (await consumer.getmany(timeout_ms=500)).values():
                    records.extend(batch)
    finally:
        await consumer.stop()
    records.sort(key=lambda r: (r.partition, r.offset))
    return [(r.key, json.loads(r.value)) for r in records]


async def _until_empty(engine: Engine) -> None:
    for _ in range(600):
        if not engine.read(pending):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"outbox still holds {_pending(engine)}")


async def test_events_recorded_while_the_broker_is_down_are_drained_in_order(
    kafka_service: KafkaService, topics: tuple[str, str], runs_engine: Engine, blobs: BlobStore
) -> None:
    for run_id in ["run-a", "run-b"]:
        make_run(runs_engine, run_id)
    # A real producer whose broker is unreachable: every publish reports failure.
    down = KafkaPublisher(_kafka("127.0.0.1:1", topics))
    await down.start()
    try:
        async with await app_client(runs_engine, blobs, down) as client:
            exp_id = (await client.post(f"{BASE}/experiments/", json={"name": "e"})).json()["id"]
            tag_id = (await client.post(f"{BASE}/tags/", json={"name": "t"})).json()["id"]
            assert (await client.put(run_url("run-a"), json={"archived": True})).status_code == 200
            archived = await client.post(f"{BASE}/runs/archive-batch/", json=["run-a", "run-b", "ghost"])
            assert archived.status_code == 200
            unarchived = await client.post(f"{BASE}/runs/archive-batch/?archive=false", json=["run-a"])
            assert unarchived.status_code == 200
            assert (await client.delete(f"{BASE}/experiments/{exp_id}/")).status_code == 200
            assert (await client.delete(f"{BASE}/tags/{tag_id}/")).status_code == 200
            assert (await client.delete(run_url("run-a"))).status_code == 200
        assert read_meta(runs_engine, "run-b").archived  # type: ignore[union-attr]
        expected = [
            ("experiment/" + exp_id, "experiment_deleted"),
            ("run/run-a", "run_archived"),
            ("run/run-a", "run_archived"),
            ("run/run-a", "run_unarchived"),
            ("run/run-a", "delete_run"),
            ("run/run-b", "run_archived"),
            ("tag/" + tag_id, "tag_deleted"),
        ]
        assert sorted(_pending(runs_engine)) == sorted(expected)
        # Draining while the broker is still down keeps everything.
        assert await drain_once(runs_engine, down, min_age_s=0) == (0, 1)
        assert sorted(_pending(runs_engine)) == sorted(expected)
    finally:
        await down.stop()

    up = KafkaPublisher(_kafka(kafka_service.bootstrap_servers, topics))
    await up.start()
    drainer = EventOutboxDrainer(runs_engine, up, interval_s=0.05, min_age_s=0)
    try:
        drainer.start()
        await _until_empty(runs_engine)
    finally:
        await drainer.stop()
        await up.stop()
    control, data = topics
    events = [m for _, m in await _read(kafka_service, control, 6)]
    run_a = [(m["type"], m["payload"]) for m in events if m["payload"].get("run_id") == "run-a"]
    assert run_a == [
        ("run_archived", {"run_id": "run-a", "archived": True}),
        ("run_archived", {"run_id": "run-a", "archived": True}),
        ("run_unarchived", {"run_id": "run-a", "archived": False}),
    ]
    others = sorted(m["type"] for m in events if m["payload"].get("run_id") != "run-a")
    assert others == ["experiment_deleted", "run_archived", "tag_deleted"]
    [(key, message)] = await _read(kafka_service, data, 1)
    assert key == b"run-a"
    assert (message["type"], message["run_id"]) == ("delete_run", "run-a")


async def test_acknowledged_events_leave_no_entry(
    kafka_service: KafkaService, topics: tuple[str, str], runs_engine: Engine, blobs: BlobStore
) -> None:
    make_run(runs_engine, "run-ok")
    publisher = KafkaPublisher(_kafka(kafka_service.bootstrap_servers, topics))
    await publisher.start()
    try:
        async with await app_client(runs_engine, blobs, publisher) as client:
            assert (await client.put(run_url("run-ok"), json={"archived": True})).status_code == 200
            assert (await client.delete(run_url("run-ok"))).status_code == 200
    finally:
        await publisher.stop()
    assert _pending(runs_engine) == []
    [(_, event)] = await _read(kafka_service, topics[0], 1)
    assert event["type"] == "run_archived"
    [(key, message)] = await _read(kafka_service, topics[1], 1)
    assert (key, message["type"]) == (b"run-ok", "delete_run")


class _CountingPublisher(RecordingPublisher):
    """A recording publisher that also counts publish attempts, failed ones included."""

    attempts: int = 0

    async def publish_control(self, event_type: str, payload: dict[str, Any]) -> bool:
        self.attempts += 1
        return await super().publish_control(event_type, payload)


def _archived_runs(publisher: RecordingPublisher) -> list[tuple[str, bool]]:
    return [(m.value["payload"]["run_id"], m.value["payload"]["archived"]) for m in publisher.messages]


async def test_drain_pass_stops_at_the_first_failure_and_young_entries_hold_their_queue(
    runs_engine: Engine,
) -> None:
    def record(tr: Any) -> None:
        for run_id, archived in [("x1", True), ("x2", True), ("x1", False), ("x3", True)]:
            record_archived(tr, run_id, archived)

    runs_engine.transact(record)
    failing = _CountingPublisher(fail=True)
    assert await drain_once(runs_engine, failing, min_age_s=0) == (0, 1)
    assert failing.attempts == 1  # the broker is down: the rest of the pass is not tried
    assert len(_pending(runs_engine)) == 4

    working = _CountingPublisher()
    assert await drain_once(runs_engine, working, min_age_s=0) == (4, 0)
    assert _archived_runs(working) == [("x1", True), ("x1", False), ("x2", True), ("x3", True)]

    # A young head (its request may still be publishing it) holds back the rest of its run's queue.
    runs_engine.transact(lambda tr: record_archived(tr, "y", True))
    runs_engine.transact(lambda tr: [outbox.record(tr, "unrelated", "k")])  # other outboxes untouched
    later = _CountingPublisher()
    assert await drain_once(runs_engine, later, min_age_s=3600) == (0, 0)
    assert later.attempts == 0


async def test_a_request_behind_an_older_pending_event_leaves_both_to_the_drainer(
    runs_engine: Engine,
) -> None:
    older = runs_engine.transact(lambda tr: record_archived(tr, "r", True))
    newer = runs_engine.transact(lambda tr: record_archived(tr, "r", False))
    publisher = RecordingPublisher()
    assert await publish_recorded(runs_engine, publisher, [newer]) == 0
    assert publisher.messages == []  # publishing the unarchive first would reorder the run's events
    assert await publish_recorded(runs_engine, publisher, [older]) == 1
    assert await publish_recorded(runs_engine, publisher, [newer]) == 1
    assert _archived_runs(publisher) == [("r", True), ("r", False)]
    assert _pending(runs_engine) == []


async def test_delete_run_entries_of_the_former_outbox_are_adopted(runs_engine: Engine) -> None:
    runs_engine.transact(lambda tr: [outbox.record(tr, "delete_run", k, at=1.0) for k in ["old-1", "old-2"]])
    publisher = RecordingPublisher()
    assert await drain_once(runs_engine, publisher, min_age_s=0) == (2, 0)
    assert [(m.key, m.value["type"]) for m in publisher.messages] == [
        ("old-1", "delete_run"),
        ("old-2", "delete_run"),
    ]
    assert runs_engine.read(lambda tr: outbox.list_entries(tr, "delete_run")) == []


async def test_only_the_lock_holder_drains(runs_engine: Engine) -> None:
    runs_engine.transact(lambda tr: record_archived(tr, "r", True))
    runs_engine.transact(lambda tr: locks.try_acquire(tr, "api-event-outbox-drainer", 600, "another-api"))
    publisher = RecordingPublisher()
    drainer = EventOutboxDrainer(runs_engine, publisher, interval_s=0.01, min_age_s=0)
    drainer.start()
    await asyncio.sleep(0.3)
    assert publisher.messages == []
    runs_engine.transact(lambda tr: locks.release(tr, "api-event-outbox-drainer", "another-api"))
    try:
        await _until_empty(runs_engine)
    finally:
        await drainer.stop()
    assert _archived_runs(publisher) == [("r", True)]
    assert runs_engine.read(lambda tr: locks.get_lock(tr, "api-event-outbox-drainer")) is None
