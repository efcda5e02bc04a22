"""Helpers for worker tests against the tansu broker: fresh topics, producing, worker processes."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from matyan_dev_services import KafkaService, kafka_ensure_topics

from matyan_benchmarks.ingest import applied_count, produce_batched
from matyan_benchmarks.ingest import worker_env as bench_worker_env
from matyan_store import offsets
from matyan_store.engine import Engine


def fresh_topics(kafka: KafkaService, partitions: int = 4) -> tuple[str, str]:
    """A data topic with ``partitions`` partitions and a one-partition control topic, both new."""
    tag = uuid.uuid4().hex[:10]
    data, control = f"data-{tag}", f"control-{tag}"
    kafka_ensure_topics(kafka.bootstrap_servers, {data: partitions, control: 1})
    return data, control


async def produce(bootstrap: str, topic: str, items: Sequence[tuple[str | None, bytes]]) -> dict[int, int]:
    """Send ``(key, value)`` pairs (acks=1), each key's in order; the highest offset per partition.

    Keys are partitioned as the producer's own ``send`` does (murmur2; no key: any partition), then sent
    in record batches (the benchmark's producer): a hundred thousand messages take seconds.
    """
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        partitions = sorted(await producer.partitions_for(topic))
    finally:
        await producer.stop()
    partitioner = DefaultPartitioner()
    queues: dict[int, list[tuple[bytes | None, bytes]]] = {p: [] for p in partitions}
    for key, value in items:
        raw_key = None if key is None else key.encode()
        queues[partitioner(raw_key, partitions, partitions)].append((raw_key, value))
    last = await produce_batched(bootstrap, topic, queues)
    return {p: o for p, o in last.items() if o >= 0}


async def consume_all(bootstrap: str, topic: str, count: int, limit_s: float = 60.0) -> list[bytes]:
    """Read ``count`` values from the start of ``topic`` (no group)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    values: list[bytes] = []
    try:
        async with asyncio.timeout(limit_s):
            while len(values) < count:
                batch = await consumer.getmany(timeout_ms=300)
                values.extend(r.value for rs in batch.values() for r in rs)
    finally:
        await consumer.stop()
    return values


def worker_env(
    kafka: KafkaService, data_topic: str, control_topic: str, data_dir: Path, group: str
) -> dict[str, str]:
    """Environment of a worker process using our topics, its own group and an LMDB store in ``data_dir``."""
    env = bench_worker_env(kafka.bootstrap_servers, data_topic, control_topic, data_dir, group)
    return env | {"INGEST_BATCH_SIZE": "200"}


def applied(engine: Engine, group: str, topic: str) -> dict[int, int]:
    """The store's last applied offset per partition."""
    return engine.read(lambda tr: offsets.list_offsets(tr, group, topic))


def progress(engine: Engine, group: str, topic: str) -> int:
    """How many records the store says are applied (offsets start at 0)."""
    return applied_count(engine, group, topic)


def wait_for(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.1) -> None:
    """Poll ``check`` until it holds; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)
