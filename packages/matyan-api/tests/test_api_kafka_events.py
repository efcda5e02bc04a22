"""Against the real broker: entity deletes publish control events; delete_run goes keyed by run id."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from api_fixtures import REST, make_settings, open_test_stores
from fastapi.testclient import TestClient
from matyan_dev_services import KafkaService

from matyan_api.app import create_app
from matyan_api.kafka_publisher import KafkaPublisher
from matyan_api.settings import ApiSettings
from matyan_models.kafka_settings import KafkaSettings

pytestmark = pytest.mark.services


def _settings(kafka: KafkaService) -> ApiSettings:
    return make_settings(
        kafka=KafkaSettings(
            kafka_bootstrap_servers=kafka.bootstrap_servers,
            kafka_control_events_topic=kafka.control_topic,
            kafka_data_ingestion_topic=kafka.data_topic,
        )
    )


async def _end_offsets(kafka: KafkaService, topic: str) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        if not partitions:
            partitions = [TopicPartition(topic, p) for p in range(max(1, kafka.data_partitions))]
        return dict(await consumer.end_offsets(partitions))
    finally:
        await consumer.stop()


async def _read_from(
    kafka: KafkaService, start: dict[TopicPartition, int], wanted: int, wait_s: float = 30.0
) -> list[tuple[bytes | None, dict[str, Any]]]:
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    found: list[tuple[bytes | None, dict[str, Any]]] = []
    try:
        consumer.assign(list(start))
        for tp, offset in start.items():
            consumer.seek(tp, offset)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        while len(found) < wanted and loop.time() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                found.extend((r.key, json.loads(r.value)) for r in records)
    finally:
        await consumer.stop()
    return found


def test_deletes_publish_control_events(kafka_service: KafkaService, tmp_path: Path) -> None:
    start = asyncio.run(_end_offsets(kafka_service, kafka_service.control_topic))
    engine, blobs = open_test_stores(tmp_path)
    app = create_app(_settings(kafka_service), engine=engine, blobs=blobs)
    with TestClient(app) as client:
        ready = client.get("/health/ready/").json()
        assert ready["checks"]["kafka"] == {"control_producer": True, "ingestion_producer": True}
        assert ready["status"] == "ok"
        exp_id = client.post(f"{REST}/experiments/", json={"name": f"e-{uuid.uuid4()}"}).json()["id"]
        tag_id = client.post(f"{REST}/tags/", json={"name": f"t-{uuid.uuid4()}"}).json()["id"]
        assert client.delete(f"{REST}/experiments/{exp_id}/").status_code == 200
        assert client.delete(f"{REST}/tags/{tag_id}/").status_code == 200
    engine.close()
    messages = asyncio.run(_read_from(kafka_service, start, wanted=2))
    ours = [m for _, m in messages if m["payload"] in ({"experiment_id": exp_id}, {"tag_id": tag_id})]
    assert [m["type"] for m in ours] == ["experiment_deleted", "tag_deleted"]
    assert all(m["timestamp"].endswith("Z") for m in ours)
    assert all(key is None for key, m in messages if m in ours)


async def test_delete_run_is_keyed_by_run_id(kafka_service: KafkaService) -> None:
    start = await _end_offsets(kafka_service, kafka_service.data_topic)
    publisher = KafkaPublisher(_settings(kafka_service).kafka)
    await publisher.start()
    try:
        assert publisher.is_ready()
        run_id = uuid.uuid4().hex[:16]
        assert await publisher.publish_ingestion("delete_run", run_id, {})
    finally:
        await publisher.stop()
    messages = await _read_from(kafka_service, start, wanted=1)
    ours = [(k, m) for k, m in messages if m.get("run_id") == run_id]
    assert len(ours) == 1
    key, message = ours[0]
    assert key == run_id.encode()
    assert message["type"] == "delete_run"
    assert message["payload"] == {}
    assert set(message) == {"type", "run_id", "timestamp", "payload"}


async def test_unreachable_broker_is_not_ready_and_publish_fails_softly() -> None:
    publisher = KafkaPublisher(KafkaSettings(kafka_bootstrap_servers="127.0.0.1:1"))
    await publisher.start()
    try:
        assert publisher.readiness() == {"control_producer": False, "ingestion_producer": False}
        assert await publisher.publish_control("tag_deleted", {"tag_id": "x"}) is False
    finally:
        await publisher.stop()
