"""Run routes against the real broker: DELETE publishes ``delete_run`` keyed by the run id on the ingestion
topic, archiving publishes ``run_archived``/``run_unarchived`` on the control topic (docs/http-contract.md,
Side effects)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from api_runs_fixtures import BASE, app_client, make_run, read_meta, run_url, runs_engine
from matyan_dev_services import KafkaService, kafka_ensure_topics

from matyan_api.kafka_publisher import KafkaPublisher
from matyan_models.kafka_settings import KafkaSettings
from matyan_store.blobs import BlobSettings, open_blob_store
from matyan_store.engine import Engine

pytestmark = [pytest.mark.services, pytest.mark.timeout(120)]

__all__ = ["runs_engine"]

DATA_PARTITIONS = 4


@pytest.fixture
async def topics(kafka_service: KafkaService) -> tuple[str, str]:
    """Fresh data and control topics, so nothing another test left behind is read."""
    suffix = uuid.uuid4().hex[:10]
    data, control = f"runs-data-{suffix}", f"runs-control-{suffix}"
    kafka_ensure_topics(kafka_service.bootstrap_servers, {data: DATA_PARTITIONS, control: 1})
    return data, control


@pytest.fixture
async def kafka_client(
    kafka_service: KafkaService, topics: tuple[str, str], runs_engine: Engine, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process app whose publisher talks to the real broker."""
    data, control = topics
    kafka = KafkaSettings(
        kafka_bootstrap_servers=kafka_service.bootstrap_servers,
        kafka_data_ingestion_topic=data,
        kafka_control_events_topic=control,
    )
    publisher = KafkaPublisher(kafka)
    await publisher.start()
    assert publisher.is_ready()
    blobs = open_blob_store(BlobSettings.from_values(blob_backend_type="local", blob_local_dir=str(tmp_path)))
    try:
        async with await app_client(runs_engine, blobs, publisher) as client:
            yield client
    finally:
        await publisher.stop()
        await blobs.aclose()


async def _read(kafka: KafkaService, topic: str, count: int) -> list[Any]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=kafka.bootstrap_servers, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    records: list[Any] = []
    try:
        while len(records) < count:
            batch = await consumer.getmany(timeout_ms=500)
            for tp_records in batch.values():
                records.extend(tp_records)
    finally:
        await consumer.stop()
    return records


async def test_delete_publishes_delete_run_keyed_by_run_id(
    kafka_client: httpx.AsyncClient, kafka_service: KafkaService, topics: tuple[str, str], runs_engine: Engine
) -> None:
    data, _ = topics
    run_ids = ["integration-0a1b2c3d4e5f", "0cf28fd9b5bf2002e8b1c4a7d9e0f312", "01J9Z8Y7X6W5V4T3S2R1Q0P9NM"]
    for run_id in run_ids:
        make_run(runs_engine, run_id)
    assert (await kafka_client.delete(run_url(run_ids[0]))).status_code == 200
    batch = await kafka_client.post(f"{BASE}/runs/delete-batch/", json=run_ids[1:])
    assert batch.status_code == 200
    # A second delete of the same run goes to the same partition, after the first.
    assert (await kafka_client.delete(run_url(run_ids[0]))).status_code == 200

    records = await _read(kafka_service, data, 4)
    by_key: dict[str, list[Any]] = {}
    for record in records:
        by_key.setdefault(record.key.decode(), []).append(record)
    assert sorted(by_key) == sorted(run_ids)
    for run_id, recs in by_key.items():
        assert len({r.partition for r in recs}) == 1
        for rec in recs:
            value = json.loads(rec.value)
            assert value["type"] == "delete_run"
            assert value["run_id"] == run_id
            assert value["payload"] == {}
            assert "project_id" not in value
    assert len(by_key[run_ids[0]]) == 2
    for run_id in run_ids:
        meta = read_meta(runs_engine, run_id)
        assert meta is not None
        assert meta.pending_deletion


async def test_archive_publishes_control_events(
    kafka_client: httpx.AsyncClient, kafka_service: KafkaService, topics: tuple[str, str], runs_engine: Engine
) -> None:
    _, control = topics
    make_run(runs_engine, "run-a")
    make_run(runs_engine, "run-b")
    assert (await kafka_client.put(run_url("run-a"), json={"archived": True})).status_code == 200
    url = f"{BASE}/runs/archive-batch/"
    assert (
        await kafka_client.post(url, params={"archive": "false"}, json=["run-a", "run-b"])
    ).status_code == 200

    records = await _read(kafka_service, control, 3)
    events = [json.loads(r.value) for r in sorted(records, key=lambda r: r.offset)]
    assert [(e["type"], e["payload"]) for e in events] == [
        ("run_archived", {"run_id": "run-a", "archived": True}),
        ("run_unarchived", {"run_id": "run-a", "archived": False}),
        ("run_unarchived", {"run_id": "run-b", "archived": False}),
    ]
    assert all(r.key is None for r in records)
    assert all(e["timestamp"] for e in events)
