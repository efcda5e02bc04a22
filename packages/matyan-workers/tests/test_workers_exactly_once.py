"""Exactly-once effect with real worker processes on tansu: SIGKILLs mid-stream, restarts, a rebalance."""

from __future__ import annotations

import asyncio
import random
import signal
import uuid
from pathlib import Path

import pytest
from matyan_dev_services import KafkaService, ProcessRunner
from workers_fixtures import lmdb_url
from workers_kafka_fixtures import MATYAN_BACKEND, fresh_topics, produce, progress, wait_for, worker_env
from workers_stream import build_stream, check_store

from matyan_store.engine import open_engine

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.timeout(300)]


def test_sigkill_restarts_apply_every_message_exactly_once(
    kafka_service: KafkaService, process_runner: ProcessRunner, tmp_path: Path
) -> None:
    data_topic, control_topic = fresh_topics(kafka_service)
    group = f"ingest-{uuid.uuid4().hex[:8]}"
    env = worker_env(kafka_service, data_topic, control_topic, tmp_path, group)
    stream, expected = build_stream(n_runs=20, per_run=1000, seed=1, poison=24)
    rng = random.Random(7)
    rounds = 6
    size = len(stream) // rounds + 1
    produced = 0
    kills = 0
    with open_engine(lmdb_url(tmp_path / "kv")) as engine:
        for k in range(rounds):
            part = stream[k * size : (k + 1) * size]
            asyncio.run(produce(kafka_service.bootstrap_servers, data_topic, part))
            before = progress(engine, group, data_topic)
            produced += len(part)
            proc = process_runner.start("ingest", [MATYAN_BACKEND, "ingest-worker"], env=env)
            target = before + int(len(part) * rng.uniform(0.1, 0.7))
            wait_for(
                lambda: progress(engine, group, data_topic) >= target,  # noqa: B023 (used in this iteration)
                90,
                "progress before a kill",
                0.01,
            )
            proc._signal(signal.SIGKILL)
            wait_for(lambda: not proc.alive(), 10, "the killed worker to exit")  # noqa: B023 (called within this iteration)
            kills += 1
            assert progress(engine, group, data_topic) < produced or k == rounds - 1
        proc = process_runner.start("ingest", [MATYAN_BACKEND, "ingest-worker"], env=env)
        wait_for(lambda: progress(engine, group, data_topic) == len(stream), 120, "every message applied")
        proc.stop()
        assert proc.exit_code() == 0
        assert kills >= 5
        engine.read(lambda tr: check_store(tr, expected))


def test_rebalance_between_two_workers_loses_and_duplicates_nothing(
    kafka_service: KafkaService, process_runner: ProcessRunner, tmp_path: Path
) -> None:
    data_topic, control_topic = fresh_topics(kafka_service)
    group = f"ingest-{uuid.uuid4().hex[:8]}"
    env = worker_env(kafka_service, data_topic, control_topic, tmp_path, group)
    stream, expected = build_stream(n_runs=8, per_run=600, seed=2, poison=8)
    half = len(stream) // 2
    with open_engine(lmdb_url(tmp_path / "kv")) as engine:
        a = process_runner.start("ingest-a", [MATYAN_BACKEND, "ingest-worker"], env=env)
        b = process_runner.start("ingest-b", [MATYAN_BACKEND, "ingest-worker"], env=env)
        asyncio.run(produce(kafka_service.bootstrap_servers, data_topic, stream[:half]))
        wait_for(lambda: progress(engine, group, data_topic) >= half // 3, 90, "both workers consuming")
        b.stop()  # SIGTERM mid-stream: finish the batch, commit, leave the group
        assert b.exit_code() == 0
        asyncio.run(produce(kafka_service.bootstrap_servers, data_topic, stream[half:]))
        wait_for(lambda: progress(engine, group, data_topic) == len(stream), 120, "every message applied")
        a.stop()
        engine.read(lambda tr: check_store(tr, expected))
