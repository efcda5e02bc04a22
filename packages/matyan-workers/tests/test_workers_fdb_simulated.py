"""The ingest apply path on the real FoundationDB adapter over the simulator (matyan-store's test tree).

Two hazards only FoundationDB has: a commit reported as ``commit_unknown_result`` although it landed, after
which the adapter runs the transaction again; and two workers' transactions on one series conflicting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fdb_simulator import SimulatedCluster, install, write_cluster_file
from workers_fixtures import CLIENT_DT, Feed, frontier_value, metric
from workers_stream import build_stream, check_store

from matyan_store import offsets, sequences
from matyan_store.engine import Engine, RetryPolicy, open_engine
from matyan_store.sequences import SeriesKey
from matyan_workers.ingest.batching import BatchResult, BatchRunner, Record

GROUP = "ingestion-workers"
# Room for every injected fault to hit one transaction: were the retries not idempotent, the test would
# then see the duplicates rather than an exhausted retry loop.
RETRY = RetryPolicy(max_attempts=20, initial_delay_s=0.001, max_delay_s=0.01)


@dataclass
class Simulated:
    engine: Engine
    cluster: SimulatedCluster


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Simulated]:
    """The FoundationDB engine over a fresh simulated cluster."""
    simulator = install(monkeypatch)
    cluster_file = write_cluster_file(tmp_path)
    with open_engine(f"fdb://{cluster_file}?threads=4", retry=RETRY) as engine:
        yield Simulated(engine, simulator.cluster(cluster_file))


def _records(stream: list[tuple[str, bytes]], feeds: list[Feed]) -> list[Record]:
    """The stream spread over partitions by run, as the frontier's keyed producer does."""
    out: list[Record] = []
    for run_id, value in stream:
        feed = feeds[sum(run_id.encode()) % len(feeds)]
        out.extend(feed.records([value], key=run_id))
    return out


def test_unknown_results_of_commits_that_landed_duplicate_nothing(sim: Simulated) -> None:
    stream, expected = build_stream(n_runs=6, per_run=90, seed=5, poison=4)
    records = _records(stream, [Feed("t", 0), Feed("t", 1)])
    # Small transactions (fast-path points count by size, not towards max_messages): many commits.
    runner = BatchRunner(sim.engine, GROUP, max_messages=40, max_bytes=4096)
    # The first commits that write land and are then reported as "may not have committed".
    sim.cluster.faults.fail_commits(1021, count=12, applied=True)

    results: list[BatchResult] = [runner.run(records[i : i + 150]) for i in range(0, len(records), 150)]

    sim.engine.read(lambda tr: check_store(tr, expected))  # no point twice, none missing
    fired = sim.cluster.faults.injected
    assert fired == [1021] * 12
    assert sum(r.transactions for r in results) > len(fired)
    # Each transaction ran again (a poison message also re-runs its chunk) and skipped what had landed.
    assert sum(r.retries for r in results) >= len(fired)
    assert sum(r.already_applied for r in results) > 0
    stored = sim.engine.read(lambda tr: [offsets.get_offset(tr, GROUP, "t", p) for p in (0, 1)])
    assert stored == [max(r.offset for r in records if r.partition == p) for p in (0, 1)]


def test_two_workers_appending_to_one_series_conflict_and_one_is_retried(sim: Simulated) -> None:
    run_id = "shared"
    series = SeriesKey(run_id, 0, "loss")
    setup, first, second = Feed("t", 0), Feed("t", 1), Feed("t", 2)

    def values(start: int, count: int) -> list[bytes]:
        return [frontier_value(run_id, metric("loss", float(v), None)) for v in range(start, start + count)]

    create = frontier_value(run_id, {"type": "create_run", "client_datetime": CLIENT_DT})
    BatchRunner(sim.engine, GROUP, max_messages=100, max_bytes=8 << 20).run(
        setup.records([create, *values(0, 3)])
    )
    entered, released = threading.Event(), threading.Event()

    def pausing_clock() -> float:
        # Called while the first worker's transaction applies its points (after it read the series).
        if not entered.is_set():
            entered.set()
            assert released.wait(10)
        return time.time()

    slow = BatchRunner(sim.engine, GROUP, max_messages=100, max_bytes=8 << 20, clock=pausing_clock)
    fast = BatchRunner(sim.engine, GROUP, max_messages=100, max_bytes=8 << 20)
    outcome: list[BatchResult] = []
    thread = threading.Thread(target=lambda: outcome.append(slow.run(first.records(values(100, 4)))))
    thread.start()
    assert entered.wait(10)
    fast_result = fast.run(second.records(values(200, 4)))
    released.set()
    thread.join(10)

    assert fast_result.retries == 0
    assert outcome[0].retries == 1
    block = sim.engine.read(lambda tr: sequences.read_range(tr, series))
    assert list(block.steps) == list(range(11))
    assert list(block.values) == [0.0, 1.0, 2.0, 200.0, 201.0, 202.0, 203.0, 100.0, 101.0, 102.0, 103.0]
