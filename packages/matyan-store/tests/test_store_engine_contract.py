"""The engine contract: every engine behaves the same, through ``engine``.

The engines: lmdb; the FoundationDB adapter over the in-process simulator (``fdb-simulator``); and the
adapter on a live cluster (``fdb``) when ``FDB_CLUSTER_FILE`` names a reachable one.
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing
import sys
import threading
import time
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

sys.path.insert(0, str(Path(__file__).resolve().parent))

from store_engine_fixtures import (
    SIMULATOR,
    engine,
    engine_kind,
    engine_url,
    increment,
    increment_many,
    open_for_test,
    set_all,
    space,
)

from matyan_store.engine import (
    ConflictError,
    Engine,
    EngineLimits,
    KeyOutsideLegalRange,
    KeyTooLarge,
    ReadTransaction,
    RetryPolicy,
    Transaction,
    TransactionClosed,
    TransactionTooLarge,
    TransactionTooOld,
    ValueTooLarge,
    from_le,
    le_int,
)
from matyan_store.keys import Subspace, pack

__all__ = ["engine", "engine_kind", "space"]  # fixtures, imported for pytest

# Tuple elements in the order their encodings sort: type first, then value.
ORDERED_ELEMENTS: list[Any] = [
    None,
    b"",
    b"\x00",
    b"\x00\x01",
    b"a",
    b"a\xff",
    "",
    "\x00",
    "a",
    "b",
    "é",
    (None,),
    (1,),
    (1, "a"),
    (2,),
    -(2**80),
    -(2**64),
    -1000,
    -256,
    -1,
    0,
    1,
    255,
    256,
    2**63,
    2**64,
    2**80,
    -math.inf,
    -1.5,
    -0.0,
    0.0,
    1e-300,
    1.5,
    math.inf,
    False,
    True,
]


def retries(engine: Engine) -> float:
    """Current value of the retry counter for ``engine``."""
    value = REGISTRY.get_sample_value("matyan_store_txn_retries_total", {"engine": engine.name})
    return value or 0.0


def keys_of(tr: ReadTransaction, begin: bytes, end: bytes, **kwargs: Any) -> list[bytes]:
    """Keys of a range read."""
    return [k for k, _ in tr.get_range(begin, end, **kwargs)]


def test_tuple_keys_of_mixed_types_come_back_in_tuple_order(engine: Engine, space: Subspace) -> None:
    shuffled = ORDERED_ELEMENTS[1::2] + ORDERED_ELEMENTS[::2]
    engine.transact(lambda tr: set_all(tr, ((space.pack((v,)), b"") for v in shuffled)))

    rows = engine.read(lambda tr: list(tr.get_range(*space.range())))

    decoded = [space.unpack(k)[0] for k, _ in rows]
    assert len(decoded) == len(ORDERED_ELEMENTS)
    for got, want in zip(decoded, ORDERED_ELEMENTS, strict=True):
        assert type(got) is type(want)
        assert repr(got) == repr(want)


def test_composite_keys_order_by_each_element_in_turn(engine: Engine, space: Subspace) -> None:
    items = [("run", step) for step in (-5, 0, 3, 10, 1000, 2**40)] + [("run2", -(10**30)), ("runa", 0)]
    engine.transact(lambda tr: set_all(tr, ((space.pack(t), pack(t)) for t in reversed(items))))

    found = engine.read(lambda tr: [space.unpack(k) for k, _ in tr.get_range(*space.range())])

    assert found == items


def test_get_set_clear_and_read_your_writes(engine: Engine, space: Subspace) -> None:
    key, other = space.pack(("k",)), space.pack(("other",))

    def write(tr: Transaction) -> tuple[bytes | None, list[bytes]]:
        tr.set(key, b"v1")
        tr.set(other, b"o")
        tr.clear(other)
        return tr.get(key), keys_of(tr, *space.range())

    assert engine.transact(write) == (b"v1", [key])
    assert engine.read(lambda tr: (tr.get(key), tr.get(other))) == (b"v1", None)
    engine.transact(lambda tr: tr.clear(key))
    assert engine.read(lambda tr: tr.get(key)) is None


def test_range_bounds_limit_and_reverse(engine: Engine, space: Subspace) -> None:
    engine.transact(lambda tr: set_all(tr, ((space.pack((i,)), le_int(i)) for i in range(100))))
    begin, end = space.pack((10,)), space.pack((20,))

    def reads(tr: ReadTransaction) -> dict[str, list[int]]:
        def ints(**kwargs: Any) -> list[int]:
            return [from_le(v) for _, v in tr.get_range(begin, end, **kwargs)]

        return {
            "all": ints(),
            "limit": ints(limit=3),
            "reverse": ints(reverse=True),
            "reverse_limit": ints(limit=3, reverse=True),
            "big_limit": ints(limit=1000),
            "empty": [from_le(v) for _, v in tr.get_range(end, begin)],
            "prefix": [from_le(v) for _, v in tr.get_prefix(space.key, limit=2, reverse=True)],
        }

    result = engine.read(reads)

    assert result["all"] == list(range(10, 20))
    assert result["limit"] == [10, 11, 12]
    assert result["reverse"] == list(range(19, 9, -1))
    assert result["reverse_limit"] == [19, 18, 17]
    assert result["big_limit"] == list(range(10, 20))
    assert result["empty"] == []
    assert result["prefix"] == [99, 98]


def test_range_bounds_between_existing_keys(engine: Engine, space: Subspace) -> None:
    keys = [space.key + bytes([b]) for b in (0x10, 0x20, 0x30)]
    engine.transact(lambda tr: set_all(tr, ((k, b"") for k in keys)))

    def reads(tr: ReadTransaction) -> list[list[bytes]]:
        return [
            keys_of(tr, space.key + b"\x15", space.key + b"\x30"),
            keys_of(tr, space.key + b"\x15", space.key + b"\x30", reverse=True),
            keys_of(tr, space.key + b"\x20", space.key + b"\x20\x00"),
            keys_of(tr, space.key + b"\x20\x00", space.key + b"\x30"),
        ]

    assert engine.read(reads) == [[keys[1]], [keys[1]], [keys[1]], []]


def test_long_ranges_stream_in_order_in_both_directions(engine: Engine, space: Subspace) -> None:
    count = 6000
    for start in range(0, count, 2000):
        chunk = [(space.pack((i,)), b"x") for i in range(start, start + 2000)]
        engine.transact(partial(set_all, items=chunk))

    forward = engine.read(lambda tr: [space.unpack(k)[0] for k, _ in tr.get_range(*space.range())])
    backward = engine.read(
        lambda tr: [space.unpack(k)[0] for k, _ in tr.get_range(*space.range(), reverse=True)]
    )

    assert forward == list(range(count))
    assert backward == list(range(count - 1, -1, -1))


def test_clear_range_removes_exactly_the_range(engine: Engine, space: Subspace) -> None:
    engine.transact(lambda tr: set_all(tr, ((space.pack((i,)), b"") for i in range(20))))

    engine.transact(lambda tr: tr.clear_range(space.pack((5,)), space.pack((15,))))

    left = engine.read(lambda tr: [space.unpack(k)[0] for k, _ in tr.get_range(*space.range())])
    assert left == [0, 1, 2, 3, 4, 15, 16, 17, 18, 19]


def test_snapshot_reader_sees_neither_uncommitted_nor_later_commits(engine: Engine, space: Subspace) -> None:
    key = space.pack(("x",))
    engine.transact(lambda tr: tr.set(key, b"old"))
    reader_open, writer_set, writer_done, reader_done = (threading.Event() for _ in range(4))
    seen: dict[str, bytes | None] = {}
    errors: list[BaseException] = []

    def reader() -> None:
        def fn(tr: ReadTransaction) -> None:
            seen["before"] = tr.get(key)
            reader_open.set()
            assert writer_set.wait(10)
            seen["uncommitted"] = tr.get(key)
            assert writer_done.wait(10)
            seen["after_commit"] = tr.get(key)

        try:
            engine.read(fn)
        except BaseException as exc:
            errors.append(exc)
        finally:
            reader_done.set()

    def fresh_reader_during_write() -> None:
        seen["fresh_uncommitted"] = engine.read(lambda tr: tr.get(key))

    def write(tr: Transaction) -> None:
        tr.set(key, b"new")
        writer_set.set()
        probe = threading.Thread(target=fresh_reader_during_write)
        probe.start()
        probe.join(10)

    thread = threading.Thread(target=reader)
    thread.start()
    assert reader_open.wait(10)
    engine.transact(write)
    writer_done.set()
    thread.join(10)

    assert not errors
    assert seen == {
        "before": b"old",
        "uncommitted": b"old",
        "fresh_uncommitted": b"old",
        "after_commit": b"old",
    }
    assert engine.read(lambda tr: tr.get(key)) == b"new"


def test_conflict_is_retried_and_counted(engine: Engine, space: Subspace) -> None:
    calls = 0
    before = retries(engine)

    def fn(tr: Transaction) -> str:
        nonlocal calls
        calls += 1
        tr.set(space.pack(("attempt", calls)), b"")
        if calls == 1:
            raise ConflictError("simulated conflict")
        return "done"

    assert engine.transact(fn) == "done"
    assert calls == 2
    assert retries(engine) == before + 1
    # The failed attempt's write was rolled back.
    assert engine.read(lambda tr: [space.unpack(k) for k, _ in tr.get_range(*space.range())]) == [
        ("attempt", 2)
    ]


def test_retries_are_bounded_and_other_errors_are_not_retried(engine: Engine, space: Subspace) -> None:
    calls = 0

    def always_conflicts(tr: Transaction) -> None:
        nonlocal calls
        calls += 1
        raise ConflictError("always")

    with pytest.raises(ConflictError):
        engine.transact(always_conflicts)
    assert calls == engine.retry.max_attempts

    calls = 0

    def fails(tr: Transaction) -> None:
        nonlocal calls
        calls += 1
        tr.set(space.pack(("never",)), b"")
        raise RuntimeError("not retryable")

    with pytest.raises(RuntimeError, match="not retryable"):
        engine.transact(fails)
    assert calls == 1
    assert engine.read(lambda tr: tr.get(space.pack(("never",)))) is None


def test_read_only_transactions_are_retried_too(engine: Engine) -> None:
    calls = 0

    def fn(tr: ReadTransaction) -> int:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise ConflictError("simulated")
        return calls

    assert engine.read(fn) == 3


def test_atomic_add_min_max(engine: Engine, space: Subspace) -> None:
    k = {name: space.pack((name,)) for name in ("add", "wrap", "sub", "min", "max", "short", "long", "mx")}

    def first(tr: Transaction) -> None:
        tr.add(k["add"], le_int(5))
        tr.add(k["add"], le_int(7))
        tr.set(k["wrap"], le_int(2**64 - 1))
        tr.add(k["wrap"], le_int(2))
        tr.set(k["sub"], le_int(10))
        tr.add(k["sub"], le_int(-3))
        tr.min(k["min"], le_int(9))
        tr.max(k["max"], le_int(9))
        tr.set(k["short"], b"\x01")
        tr.add(k["short"], le_int(1, 4))
        tr.set(k["long"], le_int(0x1_0000_0001, 8))
        tr.add(k["long"], le_int(1, 4))
        tr.set(k["mx"], le_int(-1))  # 0xff..ff: the largest unsigned value

    def second(tr: Transaction) -> None:
        tr.min(k["min"], le_int(4))
        tr.min(k["min"], le_int(6))
        tr.max(k["max"], le_int(20))
        tr.max(k["max"], le_int(11))
        tr.max(k["mx"], le_int(1))

    engine.transact(first)
    engine.transact(second)
    got = engine.read(lambda tr: {name: tr.get(key) for name, key in k.items()})

    assert from_le(got["add"]) == 12
    assert got["wrap"] == le_int(1)
    assert from_le(got["sub"]) == 7
    assert from_le(got["min"]) == 4
    assert from_le(got["max"]) == 20
    assert got["short"] == le_int(2, 4)
    assert got["long"] == le_int(2, 4)
    assert got["mx"] == le_int(-1)


def test_key_and_value_size_limits(engine: Engine, space: Subspace) -> None:
    pad = 10_000 - len(space.key)
    longest_key = space.key + b"k" * pad
    big_value = b"v" * 100_000

    engine.transact(lambda tr: tr.set(longest_key, big_value))
    assert engine.read(lambda tr: tr.get(longest_key)) == big_value

    with pytest.raises(KeyTooLarge, match=r"10001 bytes, over the limit of 10000"):
        engine.transact(lambda tr: tr.set(longest_key + b"k", b""))
    with pytest.raises(KeyTooLarge):
        engine.read(lambda tr: tr.get(longest_key + b"k"))
    with pytest.raises(ValueTooLarge, match=r"100001 bytes, over the limit of 100000"):
        engine.transact(lambda tr: tr.set(space.pack(("v",)), big_value + b"v"))
    with pytest.raises(KeyOutsideLegalRange):
        engine.transact(lambda tr: tr.set(b"\xff\x00", b""))


def test_transaction_size_limit_and_accounting(engine: Engine, space: Subspace) -> None:
    value = b"v" * 99_990
    sizes: list[int] = []

    def fill(tr: Transaction) -> None:
        for i in range(1, 200):  # same-length keys: 0 packs shorter than 1..255
            key = space.pack((i,))
            tr.set(key, value)
            sizes.append(tr.approximate_size)

    with pytest.raises(TransactionTooLarge, match=r"over the limit of 10000000 bytes"):
        engine.transact(fill)

    step = len(space.pack((1,))) + len(value)
    assert sizes[:2] == [step, 2 * step]
    assert sizes[-1] <= 10_000_000 < sizes[-1] + step
    assert engine.read(lambda tr: list(tr.get_range(*space.range()))) == []


def test_transaction_age_limit(engine_kind: str, tmp_path: Path) -> None:
    limits = EngineLimits(max_transaction_age_s=0.05)
    retry = RetryPolicy(max_attempts=2, initial_delay_s=0.001, max_delay_s=0.001)
    with open_for_test(engine_kind, tmp_path, limits=limits, retry=retry) as eng:
        key = Subspace(("matyan-engine-test-age",)).pack(("k",))
        calls = 0
        before = retries(eng)

        def slow_read(tr: Transaction) -> None:
            nonlocal calls
            calls += 1
            tr.set(key, b"x")
            time.sleep(0.1)
            tr.get(key)

        with pytest.raises(TransactionTooOld, match=r"over the limit of 0.050 s"):
            eng.transact(slow_read)
        assert calls == 2
        assert retries(eng) == before + 1

        def slow_commit(tr: Transaction) -> None:
            tr.set(key, b"x")
            time.sleep(0.1)

        with pytest.raises(TransactionTooOld):
            eng.transact(slow_commit)
        assert eng.read(lambda tr: tr.get(key)) is None


def test_transaction_is_unusable_after_its_function(engine: Engine, space: Subspace) -> None:
    engine.transact(lambda tr: set_all(tr, ((space.pack((i,)), b"") for i in range(3))))
    escaped = engine.read(lambda tr: tr)
    rows = engine.read(lambda tr: tr.get_range(*space.range()))

    with pytest.raises(TransactionClosed):
        escaped.get(space.pack((0,)))
    with pytest.raises(TransactionClosed):
        next(rows)


def test_two_processes_incrementing_one_counter(engine_kind: str, tmp_path: Path) -> None:
    url = engine_url(engine_kind, tmp_path)
    with open_for_test(engine_kind, tmp_path) as eng:
        key = Subspace(("matyan-engine-test-mp", str(tmp_path))).pack(("counter",))
        eng.transact(lambda tr: tr.clear(key))
        if engine_kind == SIMULATOR:
            # The simulated cluster lives in this process: its two clients are threads, each opening
            # its own engine by URL as a process would.
            failures: list[BaseException] = []

            def client() -> None:
                try:
                    increment_many(url, key, 10_000)
                except BaseException as exc:
                    failures.append(exc)

            threads = [threading.Thread(target=client) for _ in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(120)
            assert failures == []
        else:
            ctx = multiprocessing.get_context("spawn")
            workers = [ctx.Process(target=increment_many, args=(url, key, 10_000)) for _ in range(2)]
            for proc in workers:
                proc.start()
            for proc in workers:
                proc.join(120)
            assert [proc.exitcode for proc in workers] == [0, 0]

        assert from_le(eng.read(lambda tr: tr.get(key))) == 20_000
        eng.transact(lambda tr: tr.clear(key))


def test_threads_writing_concurrently(engine: Engine, space: Subspace) -> None:
    key = space.pack(("counter",))
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(300):
                engine.transact(lambda tr: increment(tr, key))
                engine.transact(partial(set_all, items=[(space.pack(("t", n, i)), b"")]))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert not errors
    assert from_le(engine.read(lambda tr: tr.get(key))) == 1800
    begin, end = space.range(("t",))
    assert engine.read(lambda tr: sum(1 for _ in tr.get_range(begin, end))) == 1800


async def test_async_variants_run_off_the_event_loop(engine: Engine, space: Subspace) -> None:
    key = space.pack(("counter",))
    loop_thread = threading.get_ident()
    threads: set[int] = set()

    def bump(tr: Transaction) -> int:
        threads.add(threading.get_ident())
        return increment(tr, key)

    results = await asyncio.gather(*(engine.atransact(bump) for _ in range(40)))
    value = await engine.aread(lambda tr: from_le(tr.get(key)))

    assert sorted(results) == list(range(1, 41))
    assert value == 40
    assert loop_thread not in threads
