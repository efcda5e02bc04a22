"""The FoundationDB simulator itself: MVCC, conflicts, the 5 s window, size limits, on_error, faults."""

from __future__ import annotations

from pathlib import Path

import pytest
from fdb_simulator import (
    RETRYABLE_CODES,
    FDBError,
    ManualClock,
    SimulatedCluster,
    SimulatedDatabase,
    SimulatedTransaction,
    Simulator,
    StreamingMode,
    write_cluster_file,
)

from matyan_store.engine import from_le, le_int


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def simulator(clock: ManualClock) -> Simulator:
    return Simulator(clock=clock)


@pytest.fixture
def db(simulator: Simulator, tmp_path: Path) -> SimulatedDatabase:
    simulator.api_version(730)
    return simulator.open(str(write_cluster_file(tmp_path)))


def commit(tr: SimulatedTransaction) -> int | None:
    """The error code ``tr``'s commit fails with, or ``None``."""
    try:
        tr.commit().wait()
    except FDBError as exc:
        return exc.code
    return None


def put(db: SimulatedDatabase, **items: bytes) -> None:
    tr = db.create_transaction()
    for key, value in items.items():
        tr.set(key.encode(), value)
    assert commit(tr) is None


def get(tr: SimulatedTransaction, key: bytes, *, snapshot: bool = False) -> bytes | None:
    value = (tr.snapshot if snapshot else tr).get(key).wait()
    return bytes(value) if value.present() else None


def keys(tr: SimulatedTransaction, begin: bytes, end: bytes, **kwargs: object) -> list[bytes]:
    return [kv.key for kv in tr.get_range(begin, end, **kwargs)]  # type: ignore[arg-type]


def test_reads_see_one_version_and_their_own_writes(db: SimulatedDatabase) -> None:
    put(db, a=b"1", b=b"2", c=b"3")
    reader = db.create_transaction()
    assert get(reader, b"a") == b"1"
    put(db, a=b"new", d=b"4")

    assert get(reader, b"a") == b"1"  # the read version was taken at the first read
    assert keys(reader, b"a", b"z") == [b"a", b"b", b"c"]
    reader.set(b"bb", b"local")
    reader.clear(b"c")
    reader.add(b"n", le_int(5))
    reader.add(b"n", le_int(2))
    assert keys(reader, b"a", b"z") == [b"a", b"b", b"bb", b"n"]
    assert keys(reader, b"a", b"z", reverse=True, limit=2) == [b"n", b"bb"]
    assert from_le(get(reader, b"n")) == 7
    reader.clear_range(b"a", b"bz")
    assert keys(reader, b"a", b"z") == [b"n"]
    reader.set(b"b", b"again")
    assert keys(reader, b"a", b"z") == [b"b", b"n"]


def test_long_ranges_come_in_batches_and_see_writes_made_between_them(db: SimulatedDatabase) -> None:
    tr = db.create_transaction()
    for i in range(0, 3000, 2):
        tr.set(b"k%05d" % i, b"")
    assert commit(tr) is None
    tr = db.create_transaction()
    seen = []
    for kv in tr.get_range(b"k", b"l", streaming_mode=StreamingMode.iterator):
        seen.append(kv.key)
        if len(seen) == 1:
            tr.set(b"k02999", b"")  # past the first batch: a later batch must return it
    assert seen == [b"k%05d" % i for i in range(0, 3000, 2)] + [b"k02999"]
    assert len(keys(tr, b"k", b"l", limit=1001)) == 1001


def test_a_write_into_what_was_read_makes_the_commit_conflict(db: SimulatedDatabase) -> None:
    put(db, x=b"0")
    first, second = db.create_transaction(), db.create_transaction()
    assert get(first, b"x") == b"0"
    assert get(second, b"x") == b"0"
    first.set(b"x", b"1")
    second.set(b"x", b"2")

    assert commit(first) is None
    assert commit(second) == 1020


def test_snapshot_reads_and_blind_writes_do_not_conflict(db: SimulatedDatabase) -> None:
    put(db, x=b"0")
    snap, blind, writer = (db.create_transaction() for _ in range(3))
    assert get(snap, b"x", snapshot=True) == b"0"
    assert keys(snap.snapshot, b"a", b"z") == [b"x"]  # type: ignore[arg-type]
    snap.set(b"y", b"from-snapshot")
    blind.set(b"x", b"blind")
    writer.set(b"x", b"w")

    assert commit(writer) is None
    assert commit(snap) is None
    assert commit(blind) is None


def test_range_reads_conflict_only_on_what_they_covered(db: SimulatedDatabase) -> None:
    put(db, a=b"", c=b"", e=b"")
    limited, full = db.create_transaction(), db.create_transaction()
    assert keys(limited, b"a", b"z", limit=1) == [b"a"]  # covers [a, a\x00)
    assert keys(full, b"a", b"d") == [b"a", b"c"]  # covers [a, d)
    limited.set(b"mine", b"")
    full.set(b"mine2", b"")
    put(db, b=b"")  # inside [a, d), outside [a, a\x00)

    assert commit(limited) is None
    assert commit(full) == 1020


def test_too_old_after_five_seconds_for_reads_and_commits(db: SimulatedDatabase, clock: ManualClock) -> None:
    put(db, x=b"0")
    reader, writer = db.create_transaction(), db.create_transaction()
    get(reader, b"x")
    get(writer, b"x")
    writer.set(b"x", b"1")
    clock.advance(5.01)

    with pytest.raises(FDBError) as raised:
        get(reader, b"x")
    assert raised.value.code == 1007
    assert commit(writer) == 1007
    writer.on_error(FDBError(1007)).wait()  # retryable: a fresh read version
    assert get(writer, b"x") == b"0"


def test_key_value_and_transaction_size_limits(db: SimulatedDatabase) -> None:
    cases = [((b"k" * 10_001, b""), 2102), ((b"k", b"v" * 100_001), 2103), ((b"\xff\x01", b""), 2004)]
    for (key, value), code in cases:
        tr = db.create_transaction()
        tr.set(b"fine", b"")
        tr.set(key, value)  # accepted now, reported at commit, as the C client defers it
        assert commit(tr) == code
    edge = db.create_transaction()
    edge.set(b"k" * 10_000, b"v" * 100_000)
    assert commit(edge) is None

    big = db.create_transaction()
    for i in range(101):
        big.set(b"big%03d" % i, b"v" * 99_000)  # 101 * 99,000 plus keys and conflict ranges > 10 MB
    assert big.get_approximate_size() > 10_000_000
    assert commit(big) == 2101
    small = db.create_transaction()
    small.options.set_size_limit(1000)
    small.set(b"s", b"v" * 1000)
    assert commit(small) == 2101
    assert db.create_transaction().get(b"s").wait().present() is False


@pytest.mark.parametrize("code", sorted(RETRYABLE_CODES))
def test_on_error_resets_for_retryable_codes(db: SimulatedDatabase, code: int) -> None:
    tr = db.create_transaction()
    tr.set(b"pending", b"")
    tr.on_error(FDBError(code)).wait()

    assert commit(tr) is None  # nothing left to write
    assert db.create_transaction().get(b"pending").wait().present() is False


@pytest.mark.parametrize("code", [1000, 1025, 1031, 2004, 2101, 2102, 2103, 4100])
def test_on_error_raises_other_codes_again(db: SimulatedDatabase, code: int) -> None:
    with pytest.raises(FDBError) as raised:
        db.create_transaction().on_error(FDBError(code)).wait()
    assert raised.value.code == code


def test_retry_limit_timeout_and_backoff(tmp_path: Path, clock: ManualClock) -> None:
    delays: list[float] = []
    simulator = Simulator(clock=clock, sleep=delays.append)
    simulator.api_version(730)
    db = simulator.open(str(write_cluster_file(tmp_path)))
    tr = db.create_transaction()
    tr.options.set_retry_limit(2)
    tr.on_error(1020).wait()
    tr.on_error(1020).wait()
    with pytest.raises(FDBError):
        tr.on_error(1020).wait()
    assert delays == [0.01, 0.02]

    timed = db.create_transaction()
    timed.options.set_timeout(100)
    clock.advance(0.2)
    with pytest.raises(FDBError) as raised:
        timed.get(b"x").wait()
    assert raised.value.code == 1031
    timed.reset()
    assert timed.get(b"x").wait().present() is False


def test_commit_faults_before_and_after_applying(db: SimulatedDatabase) -> None:
    cluster = db.cluster
    cluster.faults.fail_commits(1021, applied=True)
    cluster.faults.fail_commits(1020)
    landed, lost = db.create_transaction(), db.create_transaction()
    landed.set(b"landed", b"1")
    lost.set(b"lost", b"1")

    assert commit(landed) == 1021
    assert commit(lost) == 1020
    assert cluster.latest() == {b"landed": b"1"}
    assert cluster.faults.injected == [1021, 1020]


def test_random_conflicts_hit_only_transactions_that_read(db: SimulatedDatabase) -> None:
    db.cluster.faults.random_conflicts(1.0)
    reads, blind = db.create_transaction(), db.create_transaction()
    get(reads, b"x")
    reads.set(b"y", b"")
    blind.set(b"z", b"")

    assert commit(reads) == 1020
    assert commit(blind) is None


def test_read_faults_and_an_unreachable_cluster(db: SimulatedDatabase) -> None:
    db.cluster.faults.fail_reads(1009)
    tr = db.create_transaction()
    with pytest.raises(FDBError) as raised:
        tr.get(b"x").wait()
    assert raised.value.code == 1009
    db.cluster.faults.unreachable = True
    with pytest.raises(FDBError) as raised:
        list(db.create_transaction().get_range(b"a", b"b"))
    assert raised.value.code == 1031


def test_api_version_and_open_rules(tmp_path: Path) -> None:
    simulator = Simulator()
    with pytest.raises(RuntimeError, match="api_version"):
        simulator.open(str(write_cluster_file(tmp_path)))
    simulator.api_version(730)
    simulator.api_version(730)
    with pytest.raises(RuntimeError, match="already loaded"):
        simulator.api_version(710)
    with pytest.raises(FDBError) as raised:
        simulator.open(str(tmp_path / "missing.cluster"))
    assert raised.value.code == 2108
    a = simulator.open(str(write_cluster_file(tmp_path)))
    b = simulator.open(str(tmp_path / "." / "fdb-simulator.cluster"))
    assert isinstance(a.cluster, SimulatedCluster)
    assert a.cluster is b.cluster
