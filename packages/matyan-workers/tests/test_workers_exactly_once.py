"""Exactly-once effect with real worker processes on tansu: SIGKILLs mid-stream, restarts, a rebalance.

The SIGKILL test runs in CI: 100,000 mixed messages for 50 runs, produced in record batches, applied by
workers killed at six random points and restarted; the store must then hold exactly the expected data.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
import uuid
from pathlib import Path

import pytest
from matyan_dev_services import KafkaService, ProcessRunner
from workers_fixtures import lmdb_url
from workers_kafka_fixtures import fresh_topics, produce, progress, wait_for, worker_env
from workers_stream import build_stream, check_store

from matyan_benchmarks.harness import MATYAN_BACKEND
from matyan_store.engine import open_engine

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.timeout(300)]


N_RUNS = 50
PER_RUN = 2_000  # 100,000 messages (and the poison ones)
KILLS = 6


def test_sigkill_restarts_apply_every_message_exactly_once(
    kafka_service: KafkaService, process_runner: ProcessRunner, tmp_path: Path
) -> None:
    # A fresh seed each run covers more kill points; the printed seed (shown on failure) repeats one.
    seed = int(os.environ.get("MATYAN_SIGKILL_SEED") or random.SystemRandom().randrange(1 << 32))
    print(f"exactly-once SIGKILL test: seed {seed} (set MATYAN_SIGKILL_SEED={seed} to repeat it)")
    rng = random.Random(seed)
    data_topic, control_topic = fresh_topics(kafka_service)
    group = f"ingest-{uuid.uuid4().hex[:8]}"
    # Fetches of several transactions, so a kill can also fall between two transactions of one fetch.
    env = worker_env(kafka_service, data_topic, control_topic, tmp_path, group) | {
        "INGEST_BATCH_SIZE": "1000",
        "INGEST_MAX_MESSAGES_PER_TXN": "250",
    }
    stream, expected = build_stream(n_runs=N_RUNS, per_run=PER_RUN, seed=seed % 1000, poison=24)
    assert len(stream) == N_RUNS * PER_RUN + 24
    asyncio.run(produce(kafka_service.bootstrap_servers, data_topic, stream))
    total = len(stream)
    with open_engine(lmdb_url(tmp_path / "kv")) as engine:
        for k in range(KILLS):
            before = progress(engine, group, data_topic)
            target = before + rng.randint(1, (total - before) // (KILLS - k + 1))
            proc = process_runner.start("ingest", [MATYAN_BACKEND, "ingest-worker"], env=env)
            wait_for(
                lambda: progress(engine, group, data_topic) >= target,  # noqa: B023 (used in this iteration)
                120,
                f"progress before kill {k} (seed {seed})",
                0.005,
            )
            time.sleep(rng.uniform(0, 0.05))  # anywhere in a transaction, not just after a commit
            proc._signal(signal.SIGKILL)
            wait_for(lambda: not proc.alive(), 10, "the killed worker to exit")  # noqa: B023 (this iteration)
            after = progress(engine, group, data_topic)
            print(f"kill {k}: {before:,} -> {after:,} of {total:,} applied")
            assert before < after < total, f"kill {k} was not mid-stream (seed {seed})"
        proc = process_runner.start("ingest", [MATYAN_BACKEND, "ingest-worker"], env=env)
        wait_for(
            lambda: progress(engine, group, data_topic) == total, 180, f"every message applied (seed {seed})"
        )
        proc.stop()
        assert proc.exit_code() == 0
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
