"""The FoundationDB adapter under faults only the simulator can inject: unknown results, FoundationDB's own
too-old and size errors, transient codes, conflicts between concurrent transactions, an unreachable cluster.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fdb_simulator import ManualClock, SimulatedCluster, Simulator, install, write_cluster_file
from store_engine_fixtures import FAST_RETRY, increment, set_all

from matyan_store.engine import (
    ConflictError,
    Engine,
    EngineError,
    EngineUnavailable,
    ReadTransaction,
    Transaction,
    TransactionTooLarge,
    from_le,
    le_int,
    open_engine,
)


@dataclass
class Simulated:
    engine: Engine
    cluster: SimulatedCluster
    clock: ManualClock
    url: str


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Simulated]:
    """The real adapter over a fresh simulated cluster driven by a manual clock."""
    clock = ManualClock()
    simulator = install(monkeypatch, Simulator(clock=clock))
    cluster_file = write_cluster_file(tmp_path)
    url = f"fdb://{cluster_file}?threads=4"
    with open_engine(url, retry=FAST_RETRY) as engine:
        yield Simulated(engine, simulator.cluster(cluster_file), clock, url)


def test_unknown_result_after_a_commit_that_landed_runs_the_function_again(sim: Simulated) -> None:
    counter, marker = b"counter", b"applied/batch-1"
    sim.cluster.faults.fail_commits(1021, applied=True)
    calls = 0

    def naive(tr: Transaction) -> None:
        nonlocal calls
        calls += 1
        tr.add(counter, le_int(1))

    sim.engine.transact(naive)
    # The hazard: the adapter retries on 1021 (as FoundationDB's on_error does) and the effect doubles.
    assert calls == 2
    assert from_le(sim.engine.read(lambda tr: tr.get(counter))) == 2

    sim.cluster.faults.fail_commits(1021, applied=True)

    def idempotent(tr: Transaction) -> None:
        if tr.get(marker) is None:  # what the ingest worker does with its stored offsets
            tr.add(counter, le_int(1))
            tr.set(marker, b"")

    sim.engine.transact(idempotent)
    assert from_le(sim.engine.read(lambda tr: tr.get(counter))) == 3
    assert sim.cluster.faults.injected == [1021, 1021]


def test_foundationdb_side_too_old_is_retried_through_on_error(sim: Simulated) -> None:
    sim.engine.transact(lambda tr: tr.set(b"k", b"v"))
    calls = 0

    def slow(tr: ReadTransaction) -> bytes | None:
        nonlocal calls
        calls += 1
        value = tr.get(b"k")
        if calls == 1:
            sim.clock.advance(5.5)  # FoundationDB's clock, not ours: only the simulated cluster objects
        return tr.get(b"k") or value

    assert sim.engine.read(slow) == b"v"
    assert calls == 2


@pytest.mark.parametrize("code", [1004, 1031])
def test_transient_codes_that_on_error_does_not_retry_are_retried_by_the_adapter(
    sim: Simulated, code: int
) -> None:
    sim.cluster.faults.fail_commits(code)
    calls = 0

    def write(tr: Transaction) -> None:
        nonlocal calls
        calls += 1
        tr.set(b"k", b"v")

    sim.engine.transact(write)
    assert calls == 2
    assert sim.engine.read(lambda tr: tr.get(b"k")) == b"v"


def test_other_foundationdb_errors_propagate_at_once_and_conflicts_are_bounded(sim: Simulated) -> None:
    sim.cluster.faults.fail_commits(1000)
    calls = 0

    def write(tr: Transaction) -> None:
        nonlocal calls
        calls += 1
        tr.set(b"k", b"v")

    with pytest.raises(EngineError, match="1000"):
        sim.engine.transact(write)
    assert calls == 1

    calls = 0
    sim.cluster.faults.fail_commits(1020, count=FAST_RETRY.max_attempts)
    with pytest.raises(ConflictError):
        sim.engine.transact(write)
    assert calls == FAST_RETRY.max_attempts
    assert sim.engine.read(lambda tr: tr.get(b"k")) is None
    assert sim.cluster.commits == 0


def test_foundationdb_counts_conflict_ranges_in_the_transaction_size(sim: Simulated) -> None:
    sim.engine.transact(lambda tr: set_all(tr, ((b"r%05d" % i + b"." * 90, b"") for i in range(2000))))
    calls = 0

    def big(tr: Transaction) -> None:
        nonlocal calls
        calls += 1
        for i in range(2000):  # serialisable reads: about 400 kB of read-conflict ranges
            tr.get(b"r%05d" % i + b"." * 90)
        for i in range(99):
            tr.set(b"big%03d" % i, b"v" * 99_990)  # under our own 10 MB count of mutations

    with pytest.raises(TransactionTooLarge, match="2101"):
        sim.engine.transact(big)
    assert calls == 1


def test_concurrent_read_modify_writes_conflict_and_one_is_retried(sim: Simulated) -> None:
    key = b"series/last-step"
    first_read, other_committed = threading.Event(), threading.Event()
    calls = 0

    def slow_increment(tr: Transaction) -> int:
        nonlocal calls
        calls += 1
        value = increment(tr, key)
        if calls == 1:
            first_read.set()
            assert other_committed.wait(10)
        return value

    thread = threading.Thread(target=lambda: sim.engine.transact(slow_increment))
    thread.start()
    assert first_read.wait(10)
    assert sim.engine.transact(lambda tr: increment(tr, key)) == 1
    other_committed.set()
    thread.join(10)

    assert calls == 2
    assert from_le(sim.engine.read(lambda tr: tr.get(key))) == 2


def test_an_unreachable_cluster_fails_at_open(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    simulator = install(monkeypatch)
    cluster_file = write_cluster_file(tmp_path)
    simulator.cluster(cluster_file).faults.unreachable = True

    with pytest.raises(EngineUnavailable, match="not reachable"):
        open_engine(f"fdb://{cluster_file}")
