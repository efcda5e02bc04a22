"""Overwrite, ordering, splitting and write planning of series blocks."""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matyan_store.codec import (
    Block,
    BlockSummary,
    Point,
    decode_block,
    join_chunks,
    merge_points,
    plan_write,
    split_block,
    split_large_value,
)
from matyan_store.codec.merge import blocks_to_rewrite


class FakeSeries:
    """Blocks keyed by first step, the way the storage layer will hold them."""

    def __init__(self) -> None:
        self.keys: dict[int, bytes] = {}
        self.loads = 0

    def summaries(self) -> list[BlockSummary]:
        return [decode_block(self.keys[k]).summary for k in sorted(self.keys)]

    def load(self, s: BlockSummary) -> Block:
        self.loads += 1
        return decode_block(self.keys[s.first_step])

    def write(self, points: Sequence[Point], target: int = 2_000) -> None:
        plan = plan_write(self.summaries(), points, self.load, target_bytes=target)
        for k in plan.remove:
            del self.keys[k]
        for e in plan.put:
            assert e.first_step not in self.keys
            self.keys[e.first_step] = e.data

    def points(self) -> list[tuple[int, float]]:
        out: list[tuple[int, float]] = []
        for k in sorted(self.keys):
            out.extend((p.step, p.value) for p in decode_block(self.keys[k]).points())
        return out


def test_writing_a_step_again_overwrites_it() -> None:
    (block,) = merge_points(None, [(1, 1.0), (2, 2.0), (1, 9.0)])
    (merged,) = merge_points(block, [(2, 5.0), (3, 3.0)])
    assert [(p.step, p.value) for p in merged.points()] == [(1, 9.0), (2, 5.0), (3, 3.0)]


def test_out_of_order_points_land_in_place() -> None:
    (block,) = merge_points(None, [(10, 1.0), (20, 2.0)])
    (merged,) = merge_points(block, [(15, 1.5), (5, 0.5), (25, 2.5)])
    assert list(merged.steps) == [5, 10, 15, 20, 25]
    assert list(merged.values) == [0.5, 1.0, 1.5, 2.0, 2.5]


def test_ints_written_into_a_float_block_become_floats() -> None:
    (block,) = merge_points(None, [(0, 0.5)])
    (merged,) = merge_points(block, [(1, 3)])
    assert list(merged.values) == [0.5, 3.0]


def test_blocks_are_split_under_the_target_size_and_filled_in_order() -> None:
    rng = random.Random(5)
    points = [Point(i, rng.random(), None, None) for i in range(20_000)]
    encoded = split_block(Block.from_points(points), target_bytes=4_000)
    assert len(encoded) > 3
    assert all(len(e.data) <= 4_000 for e in encoded)
    # Greedy filling: every block but the last is close to the target.
    assert all(len(e.data) >= 3_000 for e in encoded[:-1])
    assert [p for e in encoded for p in decode_block(e.data).points()] == points


def test_a_point_larger_than_the_target_gets_its_own_block() -> None:
    noise = random.Random(1).randbytes(5_000)
    blocks = split_block(Block.from_points([(0, noise), (1, "y"), (2, "z")]), target_bytes=1_000)
    assert len(blocks[0].block) == 1
    assert len(blocks[0].data) > 5_000
    assert all(len(e.data) <= 1_000 for e in blocks[1:])
    assert sum(len(e.block) for e in blocks) == 3


def test_split_limits_are_validated() -> None:
    block = Block.from_points([(0, 1.0)])
    with pytest.raises(ValueError, match="target_bytes"):
        split_block(block, target_bytes=200_000)
    with pytest.raises(ValueError, match="max_points"):
        split_block(block, max_points=0)


def test_planner_handles_points_before_the_first_block_and_between_blocks() -> None:
    series = FakeSeries()
    rng = random.Random(3)
    series.write([Point(s, rng.random()) for s in range(100, 3_000)])
    firsts = sorted(series.keys)
    assert len(firsts) > 2
    series.write([Point(5, -1.0), Point(firsts[1] + 1, 42.0)])
    steps = [s for s, _ in series.points()]
    assert steps == sorted(steps)
    assert steps[0] == 5
    assert dict(series.points())[firsts[1] + 1] == 42.0
    assert min(series.keys) == 5


def test_planner_only_loads_blocks_that_receive_points() -> None:
    series = FakeSeries()
    rng = random.Random(4)
    series.write([Point(s, rng.random()) for s in range(5_000)])
    assert len(series.keys) > 3
    series.loads = 0
    last_first = max(series.keys)
    series.write([Point(5_000, 1.0), Point(5_001, 2.0)])
    assert series.loads == 1
    assert min(k for k in series.keys if k >= last_first) == last_first
    summaries = series.summaries()
    assert blocks_to_rewrite(summaries, [0, 1]) == [summaries[0]]


@given(
    st.lists(
        st.lists(st.tuples(st.integers(0, 3_000), st.floats(allow_nan=False)), min_size=1, max_size=80),
        min_size=1,
        max_size=8,
    )
)
@settings(max_examples=40, deadline=None)
def test_any_sequence_of_batches_reads_back_as_a_dict_of_last_writes(
    batches: list[list[tuple[int, float]]],
) -> None:
    series = FakeSeries()
    model: dict[int, float] = {}
    for batch in batches:
        series.write([Point(s, v) for s, v in batch], target=300)
        for s, v in batch:
            model[s] = v
    assert series.points() == sorted(model.items())
    summaries = series.summaries()
    assert all(a.last_step < b.first_step for a, b in itertools.pairwise(summaries))
    assert all(len(d) <= 300 or decode_block(d).summary.count == 1 for d in series.keys.values())


@given(st.binary(max_size=5_000), st.integers(min_value=1, max_value=700))
def test_large_values_split_and_join_back(data: bytes, max_chunk: int) -> None:
    chunks = split_large_value(data, max_chunk)
    assert all(len(c) <= max_chunk for c in chunks)
    assert join_chunks(chunks) == data
    with pytest.raises(ValueError, match="max_chunk"):
        split_large_value(data, 0)
