"""Round trips and sizes of the series block codec."""

from __future__ import annotations

import math
import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matyan_benchmarks.harness import loss_curve, timestamps
from matyan_store.codec import (
    Block,
    Point,
    ValueKind,
    decode_block,
    decode_object_bytes,
    decode_summary,
    encode_block,
    encode_object,
    encode_summary,
    read_block_summary,
    split_block,
)
from matyan_store.codec.int_columns import decode_int_column, encode_int_column

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
STEPS = st.integers(min_value=0, max_value=2**63 - 1)
EPOCHS = st.none() | INT64
TIMESTAMPS = st.none() | st.floats(allow_nan=True, allow_infinity=True)

JSON_LEAVES = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text() | st.binary()
OBJECTS = st.recursive(
    JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def canon(v: Any) -> Any:
    """A comparable form in which NaN equals itself and -0.0 differs from 0.0 (bit-exact floats)."""
    if type(v) is float:
        return ("f", struct.pack("<d", v))
    if type(v) is list:
        return ["l", *(canon(x) for x in v)]
    if type(v) is dict:
        return ["d", *((canon(k), canon(x)) for k, x in v.items())]
    return (type(v).__name__, v)


def canon_points(points: Any) -> list[Any]:
    return [(p[0], canon(p[1]), p[2], canon(p[3])) for p in points]


def expected(points: list[Point]) -> list[Point]:
    """Sorted by step, last write of a step wins."""
    by_step = {p.step: p for p in points}
    return [by_step[s] for s in sorted(by_step)]


def points_of(values: st.SearchStrategy[Any]) -> st.SearchStrategy[list[Point]]:
    return st.lists(st.builds(Point, STEPS, values, EPOCHS, TIMESTAMPS), min_size=1, max_size=60)


@given(OBJECTS)
def test_object_codec_round_trips_exactly(value: Any) -> None:
    assert canon(decode_object_bytes(bytes(encode_object(value)))) == canon(value)


def test_object_codec_rejects_unknown_types_and_tuple_keys() -> None:
    with pytest.raises(TypeError):
        encode_object({1, 2})
    with pytest.raises(TypeError):
        encode_object({(1, 2): "x"})


@given(st.lists(INT64, max_size=300))
def test_int_column_round_trips_any_int64(values: list[int]) -> None:
    assert list(decode_int_column(encode_int_column(values), len(values))) == values


@given(st.lists(st.integers(min_value=0, max_value=2**40), max_size=300))
def test_int_column_round_trips_monotone_columns(deltas: list[int]) -> None:
    values = []
    total = 5
    for d in deltas:
        total += d
        values.append(total)
    assert list(decode_int_column(encode_int_column(values), len(values))) == values


def test_regular_steps_cost_a_few_bytes_whatever_the_count() -> None:
    data = encode_int_column(range(1000, 1_000_000, 3))
    assert len(data) <= 8
    assert decode_int_column(data, len(range(1000, 1_000_000, 3))) == range(1000, 1_000_000, 3)


@given(points_of(st.floats(allow_nan=True, allow_infinity=True)))
def test_float_block_round_trip_is_bit_exact(points: list[Point]) -> None:
    block = decode_block(encode_block(points))
    assert block.kind is ValueKind.FLOAT
    assert canon_points(block.points()) == canon_points(expected(points))


@given(points_of(INT64))
def test_int_block_round_trip(points: list[Point]) -> None:
    block = decode_block(encode_block(points))
    assert block.kind is ValueKind.INT
    assert canon_points(block.points()) == canon_points(expected(points))


@given(points_of(st.booleans()))
def test_bool_block_round_trip(points: list[Point]) -> None:
    block = decode_block(encode_block(points))
    assert block.kind is ValueKind.BOOL
    assert canon_points(block.points()) == canon_points(expected(points))


@given(points_of(OBJECTS))
@settings(max_examples=60)
def test_object_block_round_trip_keeps_types_and_bytes(points: list[Point]) -> None:
    block = decode_block(encode_block(points))
    assert canon_points(block.points()) == canon_points(expected(points))


def test_mixed_ints_and_floats_become_a_float_block_but_bools_stay_objects() -> None:
    mixed = decode_block(encode_block([(0, 0), (1, 0.5)]))
    assert mixed.kind is ValueKind.FLOAT
    assert [type(v) for v in mixed.values] == [float, float]
    with_bool = decode_block(encode_block([(0, True), (1, 2)]))
    assert with_bool.kind is ValueKind.OBJECT
    assert list(with_bool.values) == [True, 2]
    assert type(with_bool.values[0]) is bool


def test_summary_handles_nan_inf_and_negative_zero() -> None:
    pts = [(0, math.nan), (1, -0.0, 3, 10.5), (2, math.inf), (3, -math.inf), (4, math.nan)]
    s = decode_block(encode_block(pts)).summary
    assert (s.first_step, s.last_step, s.count, s.nan_count) == (0, 4, 5, 2)
    assert s.min == -math.inf
    assert s.max == math.inf
    assert s.max_point is not None
    assert s.max_point.step == 2
    assert math.isnan(s.first_value)
    all_nan = Block.from_points([(0, math.nan), (1, math.nan)]).summary
    assert all_nan.min_point is None
    assert all_nan.max_point is None


@given(points_of(st.floats(allow_nan=False) | st.integers(min_value=-(2**53), max_value=2**53)))
def test_summary_survives_its_encoding_and_matches_the_block(points: list[Point]) -> None:
    block = Block.from_points(points)
    s = block.summary
    back = decode_summary(encode_summary(s))
    assert canon_points([back.first, back.last]) == canon_points([s.first, s.last])
    assert back.count == len(block)
    assert back.min == min(block.values)
    assert back.max == max(block.values)
    assert read_block_summary(encode_block(points)).count == len(block)


def test_object_summaries_omit_values_but_keep_steps() -> None:
    big = {"text": "x" * 50_000}
    data = encode_block([(7, big), (9, "tail")])
    s = read_block_summary(data)
    assert (s.first_step, s.last_step, s.values_included) == (7, 9, False)
    assert len(encode_summary(s)) < 40


def test_unknown_versions_and_truncation_are_rejected() -> None:
    data = encode_block([(0, 1.0), (1, 2.0)])
    with pytest.raises(ValueError, match="version"):
        decode_block(b"\x09" + data[1:])
    with pytest.raises(ValueError, match="truncated"):
        decode_block(data[:-3])


def test_invalid_points_are_rejected() -> None:
    for bad in [(-1, 1.0), (True, 1.0), (1.5, 1.0), (0, 1.0, "e", None), (0, 1.0, None, "t")]:
        with pytest.raises(ValueError, match="must be"):
            encode_block([bad])


def test_none_epochs_and_timestamps_are_nearly_free() -> None:
    bare = encode_block([(i, float(i % 5)) for i in range(1000)])
    mixed = decode_block(encode_block([(i, 1.0, i if i % 3 else None, None) for i in range(10)]))
    assert list(mixed.epochs) == [i if i % 3 else None for i in range(10)]
    assert list(mixed.timestamps) == [None] * 10
    assert len(bare) < 250


def test_bytes_per_point_of_a_regular_float_metric_at_one_million_points() -> None:
    n = 1_000_000
    values = loss_curve(n, 3, float32=True)
    block = Block(ValueKind.FLOAT, range(n), values, [i // 10_000 for i in range(n)], timestamps(n, 4))
    encoded = split_block(block)
    total = sum(len(e.data) for e in encoded)
    per_point = total / n
    values_only = sum(
        len(e.data) for e in split_block(Block(ValueKind.FLOAT, range(n), values, [None] * n, [None] * n))
    )
    print(
        f"\nregular float32-derived metric, 1M points: {per_point:.3f} B/pt with epochs and jittered "
        f"timestamps ({len(encoded)} blocks), {values_only / n:.3f} B/pt values only"
    )
    assert per_point <= 6
    assert values_only / n <= 4
    assert max(len(e.data) for e in encoded) <= 10_000
    assert sum(len(e.block) for e in encoded) == n
    sample = decode_block(encoded[len(encoded) // 2].data)
    assert list(sample.values) == values[sample.steps[0] : sample.steps[-1] + 1]
