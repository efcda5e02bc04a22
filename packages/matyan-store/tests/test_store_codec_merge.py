"""Overwrite, ordering, splitting and write planning of series blocks."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from matyan_store.codec import (
    Block,
    Point,
    decode_block,
    join_parts,
    merge_block,
    owner_index,
    split_block,
    split_into_parts,
)


def test_writing_a_step_again_overwrites_it() -> None:
    block = merge_block(None, [Point(1, 1.0), Point(2, 2.0), Point(1, 9.0)])
    merged = merge_block(block, [Point(2, 5.0), Point(3, 3.0)])
    assert [(p.step, p.value) for p in merged.points()] == [(1, 9.0), (2, 5.0), (3, 3.0)]


def test_out_of_order_points_land_in_place() -> None:
    block = merge_block(None, [Point(10, 1.0), Point(20, 2.0)])
    merged = merge_block(block, [Point(15, 1.5), Point(5, 0.5), Point(25, 2.5)])
    assert list(merged.steps) == [5, 10, 15, 20, 25]
    assert list(merged.values) == [0.5, 1.0, 1.5, 2.0, 2.5]


def test_ints_written_into_a_float_block_become_floats() -> None:
    block = merge_block(None, [Point(0, 0.5)])
    merged = merge_block(block, [Point(1, 3)])
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


def test_a_step_belongs_to_the_last_block_starting_at_or_before_it() -> None:
    firsts = [10, 20, 30]
    assert [owner_index(firsts, s) for s in (0, 10, 19, 20, 35)] == [0, 0, 0, 1, 2]


@given(st.binary(max_size=5_000), st.integers(min_value=1, max_value=700))
def test_large_values_split_and_join_back(data: bytes, max_part: int) -> None:
    parts = split_into_parts(data, max_part)
    assert all(len(c) <= max_part for c in parts)
    assert join_parts(parts) == data
    with pytest.raises(ValueError, match="max_part"):
        split_into_parts(data, 0)
