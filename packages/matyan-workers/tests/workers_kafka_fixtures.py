"""Helpers for worker tests against the tansu broker: fresh topics, producing, worker processes."""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from matyan_dev_services import KafkaService, kafka_ensure_topics

from matyan_store import offsets
from matyan_store.engine import Engine

GROUP_TIMEOUTS: dict[str, Any] = {
    "session_timeout_ms": 2000,
    "heartbeat_interval_ms": 200,
    "rebalance_timeout_ms": 500,
}

MATYAN_BACKEND = str(Path(sys.executable).parent / "matyan-backend")


def fresh_topics(kafka: KafkaService, partitions: int = 4) -> tuple[str, str]:
    """A data topic with ``partitions`` partitions and a one-partition control topic, both new."""
    tag = uuid.uuid4().hex[:10]
    data, control = f"data-{tag}", f"control-{tag}"
    kafka_ensure_topics(kafka.bootstrap_servers, {data: partitions, control: 1})
    return data, control


async def produce(bootstrap: str, topic: str, items: Sequence[tuple[str | None, bytes]]) -> dict[int, int]:
    """Send ``(key, value)`` pairs (acks=1), each partition's in order; the highest offset per partition.

    Records are packed into large record batches, one partition's batches sent one after another and the
    partitions concurrently: a hundred thousand messages take seconds, not a minute of per-message sends.
    Keys are partitioned as the producer's own ``send`` would (murmur2; no key: any partition).
    """
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks=1, max_batch_size=_PRODUCE_BATCH_BYTES, max_request_size=1 << 20
    )
    await producer.start()
    try:
        partitions = sorted(await producer.partitions_for(topic))
        partitioner = DefaultPartitioner()
        queues: dict[int, list[tuple[bytes | None, bytes]]] = {p: [] for p in partitions}
        for key, value in items:
            raw_key = None if key is None else key.encode()
            queues[partitioner(raw_key, partitions, partitions)].append((raw_key, value))
        sent = await asyncio.gather(*(_send_partition(producer, topic, p, q) for p, q in queues.items() if q))
    finally:
        await producer.stop()
    return dict(pair for pair in sent if pair[1] >= 0)


_PRODUCE_BATCH_BYTES = 256 * 1024


async def _send_partition(
    producer: AIOKafkaProducer, topic: str, partition: int, records: list[tuple[bytes | None, bytes]]
) -> tuple[int, int]:
    last = -1
    pending: list[tuple[asyncio.Future[Any], int]] = []
    batch = producer.create_batch()
    count = 0
    for key, value in records:
        if batch.append(key=key, value=value, timestamp=None) is None:
            pending.append((await producer.send_batch(batch, topic, partition=partition), count))
            batch, count = producer.create_batch(), 0
            if batch.append(key=key, value=value, timestamp=None) is None:
                raise ValueError(f"a record of {len(value)} bytes does not fit in a batch")
        count += 1
    if count:
        pending.append((await producer.send_batch(batch, topic, partition=partition), count))
    for future, n in pending:
        md = await future
        last = max(last, md.offset + n - 1)  # a batch's metadata carries its first record's offset
    return partition, last


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
    return {
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "KAFKA_DATA_INGESTION_TOPIC": data_topic,
        "KAFKA_CONTROL_EVENTS_TOPIC": control_topic,
        "MATYAN_DATA_DIR": str(data_dir),
        "MATYAN_STORE_ENGINE": "lmdb",
        "MATYAN_LMDB_SYNC": "false",
        "MATYAN_INGEST_GROUP_ID": group,
        "MATYAN_CONTROL_GROUP_ID": group,
        "MATYAN_KAFKA_SESSION_TIMEOUT_MS": "2000",
        "MATYAN_KAFKA_HEARTBEAT_INTERVAL_MS": "200",
        "MATYAN_KAFKA_REBALANCE_TIMEOUT_MS": "500",
        "METRICS_PORT": "0",
        "LOG_LEVEL": "INFO",
        "INGEST_BATCH_SIZE": "200",
    }


def applied(engine: Engine, group: str, topic: str) -> dict[int, int]:
    """The store's last applied offset per partition."""
    return engine.read(lambda tr: offsets.list_offsets(tr, group, topic))


def progress(engine: Engine, group: str, topic: str) -> int:
    """How many records the store says are applied (offsets start at 0)."""
    return sum(o + 1 for o in applied(engine, group, topic).values())


def wait_for(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.1) -> None:
    """Poll ``check`` until it holds; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)
