"""What only the LMDB engine has: its long-key layout, its shared environments, a full map."""

from __future__ import annotations

import random
import sys
from functools import partial
from pathlib import Path

import pytest

from matyan_store.engine import EngineFull, LmdbEngine, ReadTransaction, StoreError, Transaction
from matyan_store.engine.lmdb_layout import SEGMENT

sys.path.insert(0, str(Path(__file__).resolve().parent))

from store_engine_fixtures import clear_all, set_all


def open_lmdb(path: Path, map_size: int = 1 << 28) -> LmdbEngine:
    """A fast (no fsync) engine on ``path``."""
    return LmdbEngine(path, sync=False, map_size=map_size)


def range_keys(tr: ReadTransaction, begin: bytes, end: bytes, reverse: bool = False) -> list[bytes]:
    """The keys of a range read."""
    return [k for k, _ in tr.get_range(begin, end, reverse=reverse)]


def long_keys(seed: int, count: int) -> list[bytes]:
    """Keys around the segment boundaries, many sharing long prefixes."""
    rng = random.Random(seed)
    stems = [b"", b"a" * SEGMENT, b"a" * (SEGMENT - 1) + b"b", b"a" * (2 * SEGMENT), b"b" * (3 * SEGMENT)]
    lengths = [0, 1, 7, SEGMENT - 1, SEGMENT, SEGMENT + 1, 2 * SEGMENT, 2 * SEGMENT + 3, 4000, 10_000]
    found: set[bytes] = set()
    while len(found) < count:
        tail = bytes(rng.choice(b"\x00ab\xfe") for _ in range(rng.choice(lengths)))
        found.add((rng.choice(stems) + tail)[:10_000])
    return sorted(found)


def test_long_keys_keep_byte_order_through_writes_ranges_and_clears(tmp_path: Path) -> None:
    model = long_keys(7, 1500)
    rng = random.Random(8)
    with open_lmdb(tmp_path / "kv") as eng:
        for start in range(0, len(model), 300):
            chunk = model[start : start + 300]
            eng.transact(partial(set_all, items=[(k, k[-3:]) for k in chunk]))
        for _ in range(150):
            a, b = sorted(rng.sample(model, 2))
            a = a + b"\x00" if rng.random() < 0.3 else a
            want = [k for k in model if a <= k < b]
            assert eng.read(partial(range_keys, begin=a, end=b)) == want
            assert eng.read(partial(range_keys, begin=a, end=b, reverse=True)) == want[::-1]
        sample = model[::37]
        assert eng.read(lambda tr: [tr.get(k) for k in sample]) == [k[-3:] for k in sample]
        assert eng.read(lambda tr: tr.get(b"a" * (SEGMENT + 5) + b"zz")) is None

        removed = set(model[::3])
        eng.transact(partial(clear_all, keys=removed))
        lo, hi = model[100], model[700]
        eng.transact(lambda tr: tr.clear_range(lo, hi))
        model = [k for k in model if k not in removed and not lo <= k < hi]
        assert eng.read(lambda tr: [k for k, _ in tr.get_range(b"", b"\xff")]) == model

        eng.transact(lambda tr: tr.clear_range(b"", b"\xff"))
        # Nothing is left behind: no orphan namespaces, only the engine's metadata.
        with eng._shared.env.begin() as txn:
            leftovers = [bytes(k) for k, _ in txn.cursor()]
        assert all(k.startswith(b"\x02") for k in leftovers)


def test_engines_on_one_directory_share_one_environment(tmp_path: Path) -> None:
    first = open_lmdb(tmp_path / "kv")
    second = open_lmdb(tmp_path / "kv")
    assert first._shared is second._shared
    first.transact(lambda tr: tr.set(b"k", b"v"))
    first.close()
    assert second.read(lambda tr: tr.get(b"k")) == b"v"
    second.close()
    with pytest.raises(StoreError, match="closed"):
        second.read(lambda tr: tr.get(b"k"))


def test_data_survives_reopening(tmp_path: Path) -> None:
    with LmdbEngine(tmp_path / "kv", map_size=1 << 26) as eng:
        eng.transact(lambda tr: tr.set(b"durable", b"yes"))
    with LmdbEngine(tmp_path / "kv", map_size=1 << 26) as eng:
        assert eng.read(lambda tr: tr.get(b"durable")) == b"yes"


def test_full_map_is_a_clear_error(tmp_path: Path) -> None:
    with open_lmdb(tmp_path / "kv", map_size=1 << 20) as eng:
        value = b"x" * 90_000

        def fill(tr: Transaction) -> None:
            for i in range(40):
                tr.set(i.to_bytes(4, "big"), value)

        with pytest.raises(EngineFull, match=r"full \(1048576 bytes\).*MATYAN_LMDB_MAP_SIZE"):
            eng.transact(fill)
        eng.transact(lambda tr: tr.set(b"small", b"fits"))
        assert eng.read(lambda tr: tr.get(b"small")) == b"fits"


def test_nested_write_transaction_is_refused(tmp_path: Path) -> None:
    with open_lmdb(tmp_path / "kv") as eng:

        def outer(tr: Transaction) -> None:
            eng.transact(lambda inner: inner.set(b"a", b""))

        with pytest.raises(StoreError, match="inside a transact"):
            eng.transact(outer)


def test_writes_between_range_batches_are_seen_without_breaking_iteration(tmp_path: Path) -> None:
    with open_lmdb(tmp_path / "kv") as eng:
        eng.transact(lambda tr: set_all(tr, ((i.to_bytes(4, "big"), b"") for i in range(0, 2000, 2))))

        def walk(tr: Transaction) -> list[int]:
            seen = []
            for key, _ in tr.get_range(b"", b"\xff"):
                n = int.from_bytes(key, "big")
                seen.append(n)
                if n % 2 == 0 and n + 1001 < 2000:
                    tr.set((n + 1001).to_bytes(4, "big"), b"")  # far ahead: lands in a later batch
            return seen

        seen = eng.transact(walk)
        assert seen == sorted(seen)
        assert len(set(seen)) == len(seen)
        assert 1001 in seen
