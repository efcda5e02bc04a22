"""Range reads, the newest points and min/max-keeping downsampling."""

from __future__ import annotations

import math
import random
from array import array
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from matyan_store.codec import (
    Block,
    BlockSummary,
    Point,
    ValueKind,
    decode_block,
    downsample,
    last_point,
    read_range,
    split_block,
    tail,
)
from matyan_store.codec.buckets import bucket_count, bucket_width
from matyan_store.codec.reads import concat_columns


def stored(points: list[Point], target: int = 1_000) -> tuple[list[BlockSummary], dict[int, bytes]]:
    encoded = split_block(Block.from_points(points), target_bytes=target)
    return [e.summary for e in encoded], {e.first_step: e.data for e in encoded}


def loader(keys: dict[int, bytes], seen: list[int] | None = None):  # type: ignore[no-untyped-def]
    def load(s: BlockSummary) -> Block:
        if seen is not None:
            seen.append(s.first_step)
        return decode_block(keys[s.first_step])

    return load


def test_read_range_returns_full_resolution_and_touches_only_needed_blocks() -> None:
    rng = random.Random(1)
    points = [Point(s * 2, rng.random()) for s in range(3_000)]
    summaries, keys = stored(points)
    assert len(summaries) > 4
    seen: list[int] = []
    got = read_range(summaries, loader(keys, seen), 1_001, 1_101)
    assert list(got.steps) == list(range(1_002, 1_101, 2))
    assert list(got.values) == [p.value for p in points[501:551]]
    assert len(seen) <= 2
    assert len(read_range(summaries, loader(keys), 10_000, 20_000)) == 0


def test_tail_and_last_point() -> None:
    points = [Point(s, float(s), s // 100, 1e9 + s) for s in range(2_500)]
    summaries, keys = stored(points)
    t = tail(summaries, loader(keys), 1_234)
    assert list(t.steps) == list(range(2_500 - 1_234, 2_500))
    assert last_point(summaries, loader(keys)) == points[-1]
    obj_summaries, obj_keys = stored([Point(0, {"a": 1}), Point(3, b"\x00\xff")])
    lp = last_point(obj_summaries, loader(obj_keys))
    assert lp is not None
    assert lp.value == b"\x00\xff"


def check_downsample(
    points: list[Point], buckets: int, start: int | None, stop: int | None, target: int
) -> None:
    summaries, keys = stored(points, target)
    out = downsample(summaries, loader(keys), buckets, start, stop)
    by_step = {p.step: p for p in points}
    inside = [
        p
        for p in sorted(by_step.values())
        if (start is None or p.step >= start) and (stop is None or p.step < stop)
    ]
    steps = list(out.steps)
    assert steps == sorted(set(steps))
    assert len(steps) <= 4 * buckets
    for p in out.points():
        real = by_step[p.step]
        assert (p.epoch, p.timestamp) == (real.epoch, real.timestamp)
        assert p.value == real.value or (math.isnan(p.value) and math.isnan(real.value))
    if not inside:
        assert steps == []
        return
    assert steps[0] == inside[0].step
    assert steps[-1] == inside[-1].step
    real_values = [p.value for p in inside if not math.isnan(p.value)]
    out_values = [v for v in out.values if not math.isnan(v)]
    if real_values:
        assert min(out_values) == min(real_values)
        assert max(out_values) == max(real_values)


@given(
    st.lists(
        st.builds(
            Point,
            st.integers(0, 5_000),
            st.floats(allow_nan=True, allow_infinity=False, width=32),
            st.none() | st.integers(0, 9),
            st.none() | st.floats(0, 2e9),
        ),
        min_size=1,
        max_size=400,
    ),
    st.integers(1, 50),
    st.none() | st.integers(0, 5_000),
    st.none() | st.integers(0, 5_000),
    st.sampled_from([300, 1_000, 5_000]),
)
@settings(max_examples=80, deadline=None)
def test_downsample_keeps_real_points_extremes_and_bucket_bound(
    points: list[Point], buckets: int, start: int | None, stop: int | None, target: int
) -> None:
    check_downsample(points, buckets, start, stop, target)


def test_every_bucket_keeps_its_own_min_and_max() -> None:
    rng = random.Random(2)
    points = [Point(s, rng.gauss(0, 1)) for s in range(20_000)]
    summaries, keys = stored(points, 4_000)
    out = downsample(summaries, loader(keys), 50)
    got = set(out.steps)
    width = bucket_width(0, 19_999, 50)
    assert width == 512  # the smallest power of two giving at most 50 aligned buckets (40)
    for b in range(bucket_count(0, 19_999, width)):
        seg = points[b * width : (b + 1) * width]
        lo = min(seg, key=lambda p: p.value)
        hi = max(seg, key=lambda p: p.value)
        assert {seg[0].step, seg[-1].step, lo.step, hi.step} <= got


def test_a_spike_in_a_million_point_series_survives() -> None:
    n = 1_000_000
    rng = random.Random(9)
    values = [rng.random() for _ in range(n)]
    values[654_321] = 1e6
    values[123_457] = -1e6
    encoded = split_block(Block(ValueKind.FLOAT, range(n), values, [None] * n, [None] * n))
    keys = {e.first_step: e.data for e in encoded}
    out = downsample([e.summary for e in encoded], loader(keys), 1_000, with_epochs_timestamps=False)
    pairs = dict(zip(out.steps, out.values, strict=True))
    assert pairs[654_321] == 1e6
    assert pairs[123_457] == -1e6
    assert len(pairs) <= 4_000
    assert list(out.timestamps) == [None] * len(out)


def test_object_series_downsample_keeps_first_and_last_per_bucket() -> None:
    points = [Point(s, {"line": f"log {s}"}) for s in range(100)]
    summaries, keys = stored(points, 400)
    out = downsample(summaries, loader(keys), 10)
    assert out.kind is ValueKind.OBJECT
    # Aligned buckets of 16 steps (the smallest power of two giving at most 10 over 0..99: 7).
    assert list(out.steps) == [s for b in range(7) for s in (b * 16, min(b * 16 + 15, 99))]
    assert out.values[0] == {"line": "log 0"}


def test_downsample_of_an_empty_or_reversed_range_inside_one_block_is_empty() -> None:
    # Such a range still overlaps the block's [first_step, last_step]; it once divided by a zero width.
    points = [Point(s, float(s)) for s in range(0, 100, 3)]
    summaries, keys = stored(points, 50_000)
    assert len(summaries) == 1
    for start, stop in ((50, 50), (60, 40), (31, 32)):
        out = downsample(summaries, loader(keys), 10, start, stop)
        assert len(out) == 0


_COLUMN_PARTS = st.one_of(
    st.builds(range, st.integers(0, 50), st.integers(0, 80), st.integers(1, 4)),
    st.lists(st.integers(-(2**63), 2**63 - 1), max_size=5).map(lambda xs: array("q", xs)),
    st.lists(st.one_of(st.none(), st.integers(0, 9)), max_size=5),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_COLUMN_PARTS, min_size=1, max_size=5))
def test_concat_columns_holds_the_items_end_to_end(parts: list[Any]) -> None:
    joined = concat_columns(parts)
    assert list(joined) == [x for part in parts for x in part]
    if all(isinstance(p, array) for p in parts):
        assert isinstance(joined, array)  # no Python object per item


def test_concat_columns_keeps_continuing_ranges_a_range() -> None:
    assert concat_columns([range(0, 9, 3), range(9, 30, 3), range(30, 31, 3)]) == range(0, 31, 3)
    assert isinstance(concat_columns([range(0, 9, 3), range(10, 30, 3)]), array)
    assert concat_columns([array("d", [0.5]), array("d", [1.5, -0.0])]) == array("d", [0.5, 1.5, -0.0])
    assert concat_columns([range(0, 4), array("q", [4, 9])]) == array("q", [0, 1, 2, 3, 4, 9])
