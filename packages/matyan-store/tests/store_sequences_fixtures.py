"""Helpers of the sequences tests (imported explicitly, not a conftest): engines, counting, a dict model."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from matyan_store.engine import Engine, EngineLimits, KeyValue, ReadTransaction, Transaction, open_engine
from matyan_store.sequences import Block, Point, SeriesKey, SeriesSummary


def seq_engine_url(path: Path) -> str:
    """A fresh LMDB directory (no fsync: speed; 4 GiB sparse map)."""
    return f"lmdb://{path}?sync=false&map_size={4 << 30}"


@pytest.fixture
def seq_engine(tmp_path: Path) -> Iterator[Engine]:
    """A real LMDB engine on a fresh directory, closed after the test."""
    engine = open_engine(seq_engine_url(tmp_path / "kv"))
    yield engine
    engine.close()


class CountingRead(ReadTransaction):
    """Wraps a transaction and counts what is read through it: point gets, range reads, rows, bytes."""

    def __init__(self, inner: ReadTransaction) -> None:
        super().__init__(EngineLimits())
        self.inner = inner
        self.gets = 0
        self.ranges = 0
        self.rows = 0
        self.bytes_read = 0
        self.keys_read: list[bytes] = []

    def _get(self, key: bytes) -> bytes | None:
        self.gets += 1
        value = self.inner.get(key)
        self.keys_read.append(key)
        self.bytes_read += len(key) + (len(value) if value is not None else 0)
        return value

    def _range(self, begin: bytes, end: bytes, limit: int, reverse: bool) -> Iterator[KeyValue]:
        self.ranges += 1
        for k, v in self.inner.get_range(begin, end, limit=limit, reverse=reverse):
            self.rows += 1
            self.keys_read.append(k)
            self.bytes_read += len(k) + len(v)
            yield k, v


class CountingWrite(CountingRead, Transaction):
    """A counting wrapper that also forwards (and counts) writes."""

    def __init__(self, inner: Transaction) -> None:
        CountingRead.__init__(self, inner)
        self._size = 0
        self.wtr = inner
        self.sets = 0
        self.clears = 0

    @property
    def approximate_size(self) -> int:
        return self.wtr.approximate_size

    @property
    def remaining_size(self) -> int:
        return self.wtr.remaining_size

    def _set(self, key: bytes, value: bytes) -> None:
        self.sets += 1
        self.wtr.set(key, value)

    def _clear(self, key: bytes) -> None:
        self.clears += 1
        self.wtr.clear(key)

    def _clear_range(self, begin: bytes, end: bytes) -> None:
        self.clears += 1
        self.wtr.clear_range(begin, end)

    def _atomic_op(self, op: Any, key: bytes, operand: bytes) -> None:
        raise AssertionError("sequences never use atomic ops")


def counted[T](engine: Engine, fn: Callable[[CountingRead], T]) -> tuple[T, CountingRead]:
    """Run ``fn`` on a counting wrapper of a read transaction; return its result and the counter."""

    def run(tr: ReadTransaction) -> tuple[T, CountingRead]:
        c = CountingRead(tr)
        return fn(c), c

    return engine.read(run)


def counted_write[T](engine: Engine, fn: Callable[[CountingWrite], T]) -> tuple[T, CountingWrite]:
    """Run ``fn`` on a counting wrapper of a write transaction (committed)."""

    def run(tr: Transaction) -> tuple[T, CountingWrite]:
        c = CountingWrite(tr)
        return fn(c), c

    return engine.transact(run)


Model = dict[int, Point]


def apply_to_model(model: Model, points: Sequence[Point]) -> None:
    """What a write must do: each step keeps its last written point."""
    for p in points:
        model[p.step] = p


def same_value(a: Any, b: Any) -> bool:
    """Equal, with NaN equal to NaN."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


def assert_matches_model(block: Block, model: Model) -> None:
    """``block`` holds exactly the model's points, in step order."""
    steps = sorted(model)
    assert list(block.steps) == steps
    for p, step in zip(block.points(), steps, strict=True):
        want = model[step]
        assert same_value(p.value, want.value), (step, p.value, want.value)
        assert p.epoch == want.epoch
        assert p.timestamp == want.timestamp


def assert_summary_matches_model(summary: SeriesSummary | None, model: Model) -> None:
    """count/first/last/min/max of the summary agree with the model."""
    if not model:
        assert summary is None
        return
    assert summary is not None
    steps = sorted(model)
    assert summary.count == len(model)
    assert summary.first_step == steps[0]
    assert summary.last_step == steps[-1]
    last = model[steps[-1]]
    assert same_value(summary.last_value, last.value)
    assert summary.last_timestamp == last.timestamp
    values = [model[s].value for s in steps]
    numeric = all(type(v) in (int, float) for v in values)
    if not numeric:
        assert summary.min is None
        assert summary.max is None
        return
    real = [v for v in values if v == v]
    if not real:
        assert summary.min is None
        assert summary.max is None
        return
    assert summary.min == min(real)
    assert summary.max == max(real)
    assert summary.min_step == next(s for s in steps if model[s].value == min(real))
    assert summary.max_step == next(s for s in steps if model[s].value == max(real))


KEY = SeriesKey("run-a", 0, "loss")


def write_series_in_process(url: str, run: str, name: str, batches: int, ready: Any) -> None:
    """Child-process body: open the engine, wait for ``ready``, append ``batches`` x 500 points.

    Series ``"b"`` gets values offset by 0.5 so the two writers' data are told apart. Lives here, not
    in the test module, because spawned children import it by name.
    """
    from matyan_store.sequences import write_points

    engine = open_engine(url)
    try:
        ready.wait()
        key = SeriesKey(run, 0, name)
        offset = 0.5 if name == "b" else 0.0
        for b in range(batches):
            pts = [Point(s, float(s) + offset) for s in range(b * 500, (b + 1) * 500)]

            def append(tr: Transaction, pts: list[Point] = pts) -> None:
                write_points(tr, key, pts, "float")

            engine.transact(append)
    finally:
        engine.close()
