"""A log that goes back below the stored offsets is halted, never skipped: a real worker on a restarted tansu.

The broker runs on in-memory storage, so restarting it on the same port loses every record: the topic
comes back empty and new records reuse offsets the store already counts as applied. The worker must halt
those partitions (store, metric, log line), and resume them after ``matyan-backend offsets reset``.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka.partitioner import DefaultPartitioner
from matyan_dev_services import (
    KafkaService,
    ProcessRunner,
    RunDir,
    find_free_port,
    kafka_ensure_topics,
    start_kafka,
    start_on_free_port,
)
from workers_fixtures import CLIENT_DT, frontier_value, lmdb_url, metric
from workers_kafka_fixtures import produce, progress, wait_for, worker_env

from matyan_benchmarks.harness import MATYAN_BACKEND
from matyan_store import offsets, runs, sequences
from matyan_store.engine import Engine, ReadTransaction, open_engine

pytestmark = [pytest.mark.services, pytest.mark.timeout(240)]

PARTITIONS = 2


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[tuple[RunDir, int]]:
    """A tansu of this test only (in-memory storage), so the test may restart it."""
    run_dir = RunDir(tmp_path / "broker")
    service = start_on_free_port(lambda port: start_kafka(run_dir, port, data_partitions=PARTITIONS))
    yield run_dir, int(service.bootstrap_servers.rsplit(":", 1)[1])
    run_dir.stop_all()


def _runs_per_partition(prefix: str, per_partition: int) -> list[str]:
    """Run ids (message keys) spread so that each partition gets ``per_partition`` of them."""
    partitioner = DefaultPartitioner()
    chosen: dict[int, list[str]] = {p: [] for p in range(PARTITIONS)}
    i = 0
    while any(len(ids) < per_partition for ids in chosen.values()):
        run_id = f"{prefix}{i}"
        p = partitioner(run_id.encode(), list(range(PARTITIONS)), list(range(PARTITIONS)))
        if len(chosen[p]) < per_partition:
            chosen[p].append(run_id)
        i += 1
    return [r for ids in chosen.values() for r in ids]


def _stream(run_ids: list[str], points: int) -> list[tuple[str | None, bytes]]:
    items: list[tuple[str | None, bytes]] = []
    for run_id in run_ids:
        items.append((run_id, frontier_value(run_id, {"type": "create_run", "client_datetime": CLIENT_DT})))
        items.extend((run_id, frontier_value(run_id, metric("loss", float(s), s))) for s in range(points))
    return items


def _points(engine: Engine, run_id: str) -> int:
    def read(tr: ReadTransaction) -> int:
        return sum(summary.count for _key, summary in sequences.list_run_series(tr, run_id))

    return engine.read(read)


def _offsets_cli(env: dict[str, str], *args: str) -> tuple[int, dict[str, object]]:
    done = subprocess.run(
        [MATYAN_BACKEND, "offsets", *args, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout.strip().splitlines()[-1])


def _scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return str(response.read().decode())


def test_restarted_broker_halts_the_partitions_until_offsets_reset(
    own_broker: tuple[RunDir, int], process_runner: ProcessRunner, tmp_path: Path
) -> None:
    run_dir, port = own_broker
    bootstrap = f"127.0.0.1:{port}"
    tag = uuid.uuid4().hex[:8]
    topic, control = f"data-{tag}", f"control-{tag}"
    group = f"ingest-{tag}"
    kafka_ensure_topics(bootstrap, {topic: PARTITIONS, control: 1})
    metrics_port = find_free_port()
    kafka = KafkaService(bootstrap, topic, control, PARTITIONS)
    env = worker_env(kafka, topic, control, tmp_path, group) | {"METRICS_PORT": str(metrics_port)}

    before = _stream(_runs_per_partition(f"a{tag}-", 2), 40)  # 82 records per partition
    after = _stream(_runs_per_partition(f"b{tag}-", 1), 20)  # 21 per partition, all below the stored offsets
    with open_engine(lmdb_url(tmp_path / "kv")) as engine:
        worker = process_runner.start("ingest", [MATYAN_BACKEND, "ingest-worker"], env=env)
        asyncio.run(produce(bootstrap, topic, before))
        wait_for(lambda: progress(engine, group, topic) == len(before), 90, "the first stream applied")
        stored = engine.read(lambda tr: offsets.list_offsets(tr, group, topic))
        assert stored == {0: 81, 1: 81}

        # The broker loses its log; the topic comes back empty and fills with new records at offsets 0..20.
        run_dir.stop("kafka")
        start_kafka(run_dir, port, data_partitions=PARTITIONS)
        kafka_ensure_topics(bootstrap, {topic: PARTITIONS, control: 1})
        asyncio.run(produce(bootstrap, topic, after))

        def halts() -> dict[int, offsets.PartitionHalt]:
            return engine.read(lambda tr: offsets.list_halts(tr, group, topic))

        wait_for(lambda: set(halts()) == {0, 1}, 90, "both partitions halted")
        assert all(h.applied == 81 and h.log_offset <= 21 for h in halts().values())
        assert engine.read(lambda tr: offsets.list_offsets(tr, group, topic)) == stored
        new_runs = sorted({key for key, _ in after if key is not None})
        assert engine.read(lambda tr: [r for r in new_runs if runs.get_run(tr, r) is not None]) == []
        log = worker.log_path.read_text()
        for p in range(PARTITIONS):
            assert f"partition {topic}:{p} went back below the applied offset" in log
        assert "the store's last applied offset is 81" in log
        scraped = _scrape(metrics_port)
        for p in range(PARTITIONS):
            assert f'matyan_ingestion_offset_resets_total{{partition="{p}",topic="{topic}"}} 1.0' in scraped

        cli_env = env
        code, shown = _offsets_cli(cli_env, "show")
        assert code == 1
        rows = {row["partition"]: row for row in shown["partitions"]}  # type: ignore[attr-defined]
        assert {p: (rows[p]["applied"], rows[p]["log_end"], rows[p]["status"]) for p in rows} == {
            0: (81, 21, "halted"),
            1: (81, 21, "halted"),
        }

        code, dry = _offsets_cli(cli_env, "reset", "--partition", "0", "--to-start")
        assert (code, dry["dry_run"], dry["next_offset"]) == (0, True, 0)
        assert set(halts()) == {0, 1}  # a dry run changes nothing

        for p in range(PARTITIONS):
            code, done = _offsets_cli(cli_env, "reset", "--partition", str(p), "--to-start", "--yes")
            assert (code, done["dry_run"], done["applied_before"]) == (0, False, 81)
        wait_for(
            lambda: all(_points(engine, r) == 20 for r in new_runs), 60, "the new records applied after reset"
        )
        assert halts() == {}
        assert engine.read(lambda tr: offsets.list_offsets(tr, group, topic)) == {0: 20, 1: 20}
        code, shown = _offsets_cli(cli_env, "show")
        assert code == 0
        worker.stop()
        assert worker.exit_code() == 0
