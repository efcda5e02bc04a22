"""Reads touch only the blocks they need; writes load each affected block once and write it once."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from store_sequences_fixtures import counted, counted_write, seq_engine_url

from matyan_store.engine import Engine, open_engine
from matyan_store.sequences import (
    Point,
    SeriesKey,
    get_summary,
    layout,
    read_downsampled,
    read_last,
    read_range,
    read_tail,
    write_points,
)

KEY = SeriesKey("run-big", 0, "loss")
N = 1_000_000
_F32 = struct.Struct("<f")


def _f32(x: float) -> float:
    value: float = _F32.unpack(_F32.pack(x))[0]
    return value


def _body_reads(keys: list[bytes]) -> int:
    base = layout.body_key(KEY.run_id, KEY.context_id, KEY.name, 0)[:-1]
    return sum(1 for k in keys if k.startswith(base))


@pytest.fixture(scope="module")
def big_series(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A 1M-point float32-like metric written in large batches (shared: tests only append or overwrite)."""
    engine = open_engine(seq_engine_url(Path(tmp_path_factory.mktemp("seq-costs")) / "kv"))
    batch = 100_000
    for a in range(0, N, batch):
        pts = [Point(i, _f32(1.0 / (1 + i * 1e-4) + (i % 13) * 1e-3)) for i in range(a, a + batch)]
        engine.transact(lambda tr, pts=pts: write_points(tr, KEY, pts, "float"))  # type: ignore[misc]
    yield engine
    engine.close()


def _last_step(engine: Engine) -> int:
    s = engine.read(lambda tr: get_summary(tr, KEY))
    assert s is not None
    return s.last_step


def test_reading_a_small_range_of_a_1m_series_loads_one_or_two_blocks(big_series: Engine) -> None:
    block, c = counted(big_series, lambda tr: read_range(tr, KEY, 500_000, 500_101))
    assert list(block.steps) == list(range(500_000, 500_101))
    assert 1 <= _body_reads(c.keys_read) <= 2
    assert c.gets + c.ranges <= 4
    assert c.bytes_read < 40_000  # two blocks and a few index entries, not the series (~3 MB)

    end = _last_step(big_series) + 1
    last, c = counted(big_series, lambda tr: read_last(tr, KEY))
    assert last is not None
    assert last.step == end - 1
    assert _body_reads(c.keys_read) == 0  # answered by the last index entry

    tail, c = counted(big_series, lambda tr: read_tail(tr, KEY, 10))
    assert list(tail.steps) == list(range(end - 10, end))
    assert 1 <= _body_reads(c.keys_read) <= 2


def test_wide_chart_reads_no_block_body_and_zoomed_chart_only_its_blocks(big_series: Engine) -> None:
    chart, c = counted(
        big_series, lambda tr: read_downsampled(tr, KEY, 1_000, 0, N, with_epochs_timestamps=False)
    )
    assert chart.steps[0] == 0
    assert chart.steps[-1] == N - 1
    assert _body_reads(c.keys_read) == 0
    assert c.ranges <= 2
    zoom, c = counted(big_series, lambda tr: read_downsampled(tr, KEY, 100, 400_000, 401_000))
    assert zoom.steps[0] == 400_000
    assert zoom.steps[-1] == 400_999
    assert 1 <= _body_reads(c.keys_read) <= 2


def test_append_loads_only_the_tail_block_and_writes_each_block_once(big_series: Engine) -> None:
    end = _last_step(big_series) + 1
    pts = [Point(i, 0.5) for i in range(end, end + 5_000)]
    summary, c = counted_write(big_series, lambda tr: write_points(tr, KEY, pts, "float"))
    assert summary.count == end + 5_000
    assert summary.last_step == end + 4_999
    assert _body_reads(c.keys_read) == 1  # the tail block, once
    assert c.ranges == 1  # the owner lookup; no scan of the index
    written = c.sets
    # Each new block is one body and one index entry; plus the series summary.
    assert written % 2 == 1
    assert written <= 2 * 5 + 1


def test_out_of_order_batch_loads_each_affected_block_once(big_series: Engine) -> None:
    steps = [10, 999_990, 500_000, 11, 500_001, 250_000, 12]
    pts = [Point(s, -1.0) for s in steps]
    end = _last_step(big_series) + 1
    summary, c = counted_write(big_series, lambda tr: write_points(tr, KEY, pts, "float"))
    assert summary.count == end
    assert summary.min == -1.0
    assert summary.min_step == 10
    keys = [k for k in c.keys_read if k.startswith(layout.body_key(KEY.run_id, 0, KEY.name, 0)[:-1])]
    assert len(keys) == len(set(keys)) == 4  # blocks of 10..12, 250_000, 500_000..1, 999_990
    got = big_series.read(lambda tr: read_range(tr, KEY, 500_000, 500_002))
    assert list(got.values) == [-1.0, -1.0]


def _total(tr: Any, begin: bytes, end: bytes) -> int:
    return sum(len(k) + len(v) for k, v in tr.get_range(begin, end))


def test_storage_per_point_is_small(big_series: Engine) -> None:
    begin = layout.run_prefix(KEY.run_id)
    stored = big_series.read(lambda tr: _total(tr, begin, begin + b"\xff"))
    # Keys + values (bodies, index entries with rollups, summary) of a float32-like regular metric.
    assert stored / (_last_step(big_series) + 1) < 4.0
    assert big_series.read(lambda tr: _total(tr, *layout.summaries_range(KEY.run_id))) < 200
