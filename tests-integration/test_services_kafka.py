"""The tansu broker speaks enough Kafka for our clients: aiokafka groups with manual commits, and FastStream.

Timeouts follow docs/runbook.md, Local test services: tansu takes seconds to form a consumer group with
aiokafka's defaults, so every consumer here uses short session/heartbeat/rebalance timeouts, and producers use
acks=1 or "all".
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from matyan_dev_services import KafkaService, kafka_ensure_topics

pytestmark = [pytest.mark.services, pytest.mark.timeout(120)]

GROUP_TIMEOUTS: dict[str, Any] = {
    "session_timeout_ms": 2000,
    "heartbeat_interval_ms": 200,
    "rebalance_timeout_ms": 500,
}


def _fresh_topic(kafka: KafkaService, partitions: int) -> str:
    """A topic of our own, so a test never reads what another test left in the shared broker."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    kafka_ensure_topics(kafka.bootstrap_servers, {name: partitions})
    return name


@asynccontextmanager
async def _consumer(kafka: KafkaService, topic: str, group: str) -> AsyncIterator[AIOKafkaConsumer]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka.bootstrap_servers,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **GROUP_TIMEOUTS,
    )
    await consumer.start()
    try:
        yield consumer
    finally:
        await consumer.stop()


async def _consume(consumer: AIOKafkaConsumer, count: int) -> list[Any]:
    records: list[Any] = []
    while len(records) < count:
        batch = await consumer.getmany(timeout_ms=500)
        for tp_records in batch.values():
            records.extend(tp_records)
    return records


async def test_broker_has_data_and_control_topics(kafka_service: KafkaService) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_service.bootstrap_servers)
    await admin.start()
    try:
        described = await admin.describe_topics([kafka_service.data_topic, kafka_service.control_topic])
    finally:
        await admin.close()
    partitions = {d["topic"]: len(d["partitions"]) for d in described}
    assert partitions == {
        kafka_service.data_topic: kafka_service.data_partitions,
        kafka_service.control_topic: 1,
    }
    assert kafka_service.data_topic == "data-ingestion"
    assert kafka_service.control_topic == "control-events"


async def test_aiokafka_group_round_trip_with_manual_commit(kafka_service: KafkaService) -> None:
    topic = _fresh_topic(kafka_service, partitions=4)
    group = f"group-{uuid.uuid4().hex[:8]}"
    runs = [f"run-{i}" for i in range(4)]

    producer = AIOKafkaProducer(bootstrap_servers=kafka_service.bootstrap_servers, acks="all")
    await producer.start()
    try:
        for step in range(5):
            for run in runs:
                await producer.send_and_wait(topic, f"{run}:{step}".encode(), key=run.encode())
    finally:
        await producer.stop()

    async with _consumer(kafka_service, topic, group) as consumer:
        records = await _consume(consumer, len(runs) * 5)
        await consumer.commit()
        committed = {tp: await consumer.committed(tp) for tp in consumer.assignment()}

    # Keyed by run: each run stays on one partition, in the order it was produced.
    partitions_of_run: dict[str, set[int]] = defaultdict(set)
    steps_of_run: dict[str, list[int]] = defaultdict(list)
    for record in records:
        run, step = record.value.decode().split(":")
        assert record.key.decode() == run
        partitions_of_run[run].add(record.partition)
        steps_of_run[run].append(int(step))
    assert all(len(p) == 1 for p in partitions_of_run.values())
    assert dict(steps_of_run) == {run: list(range(5)) for run in runs}
    per_partition: dict[int, int] = defaultdict(int)
    for record in records:
        per_partition[record.partition] += 1
    assert {tp.partition: offset for tp, offset in committed.items() if offset} == dict(per_partition)

    # After the commit, a new member of the same group starts where the first one stopped.
    producer = AIOKafkaProducer(bootstrap_servers=kafka_service.bootstrap_servers, acks=1)
    await producer.start()
    try:
        for run in runs[:2]:
            await producer.send_and_wait(topic, f"{run}:5".encode(), key=run.encode())
    finally:
        await producer.stop()
    async with _consumer(kafka_service, topic, group) as consumer:
        again = await _consume(consumer, 2)
        await asyncio.sleep(0.3)
        extra = await consumer.getmany(timeout_ms=300)
    assert sorted(r.value.decode() for r in again) == [f"{run}:5" for run in runs[:2]]
    assert sum(len(v) for v in extra.values()) == 0


async def test_committed_offset_is_per_group(kafka_service: KafkaService) -> None:
    topic = _fresh_topic(kafka_service, partitions=1)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_service.bootstrap_servers, acks=1)
    await producer.start()
    try:
        for i in range(3):
            await producer.send_and_wait(topic, str(i).encode())
    finally:
        await producer.stop()
    tp = TopicPartition(topic, 0)
    async with _consumer(kafka_service, topic, f"a-{uuid.uuid4().hex[:8]}") as first:
        await _consume(first, 3)
        await first.commit({tp: 2})
        assert await first.committed(tp) == 2
    async with _consumer(kafka_service, topic, f"b-{uuid.uuid4().hex[:8]}") as other:
        assert await other.committed(tp) is None
        values = [r.value for r in await _consume(other, 3)]
    assert values == [b"0", b"1", b"2"]


async def test_faststream_publish_and_subscribe(kafka_service: KafkaService) -> None:
    topic = _fresh_topic(kafka_service, partitions=2)
    batch_topic = _fresh_topic(kafka_service, partitions=1)
    broker = KafkaBroker(kafka_service.bootstrap_servers, acks=1)
    received: list[dict[str, Any]] = []
    batched: list[dict[str, Any]] = []
    all_single = asyncio.Event()
    all_batched = asyncio.Event()

    @broker.subscriber(
        topic,
        group_id=f"fs-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.ACK,
        session_timeout_ms=2000,
        heartbeat_interval_ms=200,
        rebalance_timeout_ms=500,
    )
    async def on_message(body: dict[str, Any]) -> None:
        received.append(body)
        if len(received) == 6:
            all_single.set()

    @broker.subscriber(
        batch_topic,
        batch=True,
        max_records=50,
        group_id=f"fsb-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.ACK,
        session_timeout_ms=2000,
        heartbeat_interval_ms=200,
        rebalance_timeout_ms=500,
    )
    async def on_batch(bodies: list[dict[str, Any]]) -> None:
        batched.extend(bodies)
        if len(batched) == 20:
            all_batched.set()

    async with broker:
        await broker.start()
        for i in range(6):
            await broker.publish({"run": f"r{i % 2}", "i": i}, topic, key=f"r{i % 2}".encode())
        bodies: list[dict[str, Any]] = [{"n": n} for n in range(20)]
        await broker.publish_batch(*bodies, topic=batch_topic)
        await asyncio.wait_for(all_single.wait(), timeout=60)
        await asyncio.wait_for(all_batched.wait(), timeout=60)

    assert sorted(m["i"] for m in received) == list(range(6))
    for run in ("r0", "r1"):
        assert [m["i"] for m in received if m["run"] == run] == sorted(
            m["i"] for m in received if m["run"] == run
        )
    assert [m["n"] for m in batched] == list(range(20))
