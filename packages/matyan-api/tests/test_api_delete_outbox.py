"""The ``delete_run`` outbox: a delete made while the broker is down is published once it is back.

The routes record the entry with the pending-deletion flag and clear it after an acknowledged publish;
the drainer publishes what a failed publish left behind (real tansu broker, real aiokafka producers).
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
from api_runs_fixtures import BASE, api_settings, app_client, make_run, read_meta, run_url, runs_engine
from matyan_dev_services import KafkaService, kafka_ensure_topics

from matyan_api.delete_outbox import KIND, DeleteOutboxDrainer, drain_once
from matyan_api.kafka_publisher import KafkaPublisher, RecordingPublisher
from matyan_store import outbox
from matyan_store.blobs import BlobSettings, BlobStore, open_blob_store
from matyan_store.engine import Engine
from matyan_store.settings import Settings

pytestmark = [pytest.mark.services, pytest.mark.timeout(120)]

__all__ = ["runs_engine"]


@pytest.fixture
def data_topic(kafka_service: KafkaService) -> str:
    """A fresh ingestion topic, so nothing another test left behind is read."""
    topic = f"outbox-data-{uuid.uuid4().hex[:10]}"
    kafka_ensure_topics(kafka_service.bootstrap_servers, {topic: 2})
    return topic


@pytest.fixture
async def blobs(tmp_path: Path) -> AsyncIterator[BlobStore]:
    """A local-directory blob store."""
    store = open_blob_store(BlobSettings.from_values(blob_backend_type="local", blob_local_dir=str(tmp_path)))
    yield store
    await store.aclose()


def _settings(bootstrap: str, topic: str) -> Settings:
    return api_settings().model_copy(
        update={"kafka_bootstrap_servers": bootstrap, "kafka_data_ingestion_topic": topic}
    )


def _pending_keys(engine: Engine) -> list[str]:
    return [e.key for e in engine.read(lambda tr: outbox.list_entries(tr, KIND))]


async def _read_delete_runs(kafka: KafkaService, topic: str, count: int) -> dict[str, int]:
    """Run id -> number of ``delete_run`` messages, once ``count`` records were read."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=kafka.bootstrap_servers, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    records: list[Any] = []
    try:
        while len(records) < count:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                records.extend(batch)
    finally:
        await consumer.stop()
    counts: dict[str, int] = {}
    for record in records:
        value = json.loads(record.value)
        assert value["type"] == "delete_run"
        assert value["run_id"] == record.key.decode()
        counts[value["run_id"]] = counts.get(value["run_id"], 0) + 1
    return counts


async def _until_empty(engine: Engine) -> None:
    for _ in range(600):
        if not _pending_keys(engine):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"outbox still holds {_pending_keys(engine)}")


async def test_delete_while_broker_down_is_published_by_the_drainer(
    kafka_service: KafkaService, data_topic: str, runs_engine: Engine, blobs: BlobStore
) -> None:
    run_ids = ["run-a", "run-b", "run-c"]
    for run_id in run_ids:
        make_run(runs_engine, run_id)
    # A real producer whose broker is unreachable: every publish reports failure.
    down = KafkaPublisher(_settings("127.0.0.1:1", data_topic))
    await down.start()
    try:
        async with await app_client(runs_engine, blobs, down) as client:
            assert (await client.delete(run_url("run-a"))).status_code == 200
            batch = await client.post(f"{BASE}/runs/delete-batch/", json=["run-b", "run-c"])
            assert batch.status_code == 200
        for run_id in run_ids:
            meta = read_meta(runs_engine, run_id)
            assert meta is not None
            assert meta.pending_deletion
        assert _pending_keys(runs_engine) == run_ids
        # Draining while the broker is still down keeps everything.
        assert await drain_once(runs_engine, down, min_age_s=0) == (0, 1)
        assert _pending_keys(runs_engine) == run_ids
    finally:
        await down.stop()

    up = KafkaPublisher(_settings(kafka_service.bootstrap_servers, data_topic))
    await up.start()
    drainer = DeleteOutboxDrainer(runs_engine, up, interval_s=0.05, min_age_s=0)
    try:
        drainer.start()
        await _until_empty(runs_engine)
    finally:
        await drainer.stop()
        await up.stop()
    counts = await _read_delete_runs(kafka_service, data_topic, len(run_ids))
    assert sorted(counts) == run_ids


async def test_acknowledged_delete_leaves_no_entry(
    kafka_service: KafkaService, data_topic: str, runs_engine: Engine, blobs: BlobStore
) -> None:
    make_run(runs_engine, "run-ok")
    publisher = KafkaPublisher(_settings(kafka_service.bootstrap_servers, data_topic))
    await publisher.start()
    try:
        async with await app_client(runs_engine, blobs, publisher) as client:
            assert (await client.delete(run_url("run-ok"))).status_code == 200
    finally:
        await publisher.stop()
    assert _pending_keys(runs_engine) == []
    assert await _read_delete_runs(kafka_service, data_topic, 1) == {"run-ok": 1}


class _CountingPublisher(RecordingPublisher):
    """A recording publisher that also counts publish attempts, failed ones included."""

    attempts: int = 0

    async def publish_ingestion(self, message_type: str, run_id: str, payload: dict[str, Any]) -> bool:
        self.attempts += 1
        return await super().publish_ingestion(message_type, run_id, payload)


async def test_drain_pass_stops_at_the_first_failure_and_skips_young_entries(runs_engine: Engine) -> None:
    runs_engine.transact(lambda tr: [outbox.record(tr, KIND, k, at=1.0) for k in ["x1", "x2", "x3"]])
    failing = _CountingPublisher(fail=True)
    assert await drain_once(runs_engine, failing, min_age_s=0) == (0, 1)
    assert failing.attempts == 1  # the broker is down: the rest of the pass is not tried
    runs_engine.transact(lambda tr: outbox.record(tr, KIND, "young"))
    working = _CountingPublisher()
    # "young" was just recorded: its request may still be publishing it, so the drainer leaves it.
    assert await drain_once(runs_engine, working, min_age_s=3600) == (3, 0)
    assert [m.key for m in working.of_type("delete_run")] == ["x1", "x2", "x3"]
    assert _pending_keys(runs_engine) == ["young"]
