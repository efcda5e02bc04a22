"""Numeric columns of block format 2 (delta-of-delta, XOR, float32 when exact) and reading format 1 blocks."""

from __future__ import annotations

import math
import random
import struct

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from matyan_benchmarks.harness import loss_curve, timestamps, to_float32
from matyan_store.codec import BLOCK_VERSION, Block, ValueKind, decode_block, split_block
from matyan_store.codec import int_columns as v1
from matyan_store.codec.columns import (
    decode_float_column,
    decode_int_column,
    encode_float_column,
    encode_int_column,
)
from matyan_store.codec.summary import encode_summary
from matyan_store.codec.varint import put_bytes, put_uvarint

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
# Any float64 bit pattern: NaN payloads, -0.0, infinities, subnormals.
FLOAT_BITS = st.integers(min_value=0, max_value=2**64 - 1).map(
    lambda b: struct.unpack("<d", b.to_bytes(8, "little"))[0]
)
FLOAT32S = st.floats(width=32, allow_nan=True, allow_infinity=True)


def bits(values: object) -> bytes:
    return np.asarray(values, dtype=np.float64).tobytes()


@given(st.lists(INT64, max_size=300))
def test_int_columns_round_trip_any_int64(values: list[int]) -> None:
    assert list(decode_int_column(encode_int_column(values), len(values))) == values


@given(st.integers(0, 2**40), st.lists(st.integers(0, 2**20), min_size=1, max_size=300))
def test_int_columns_round_trip_steps_with_random_gaps(first: int, gaps: list[int]) -> None:
    steps = [first]
    for g in gaps:
        steps.append(steps[-1] + g + 1)
    assert list(decode_int_column(encode_int_column(steps), len(steps))) == steps


@given(st.lists(FLOAT_BITS, max_size=200))
def test_float_columns_are_bit_exact(values: list[float]) -> None:
    assert bits(decode_float_column(encode_float_column(values), len(values))) == bits(values)


@given(st.lists(FLOAT32S, min_size=1, max_size=200))
def test_float32_values_take_at_most_four_bytes_a_point(values: list[float]) -> None:
    data = encode_float_column(values)
    assert bits(decode_float_column(data, len(values))) == bits(values)
    # Four planes of residuals at most, each packed with a byte of header and a length varint.
    assert len(data) <= 4 * len(values) + 4 * 4 + 40


def test_regular_steps_cost_a_few_bytes_and_decode_as_a_range() -> None:
    data = encode_int_column(range(5, 5 + 3 * 100_000, 3))
    assert len(data) < 16
    assert decode_int_column(data, 100_000) == range(5, 5 + 3 * 100_000, 3)


def _blocks_bytes_per_point(values: list[float] | list[int], kind: ValueKind, stamps: bool) -> float:
    n = len(values)
    ts: list[float | None] = list(timestamps(n, 11)) if stamps else [None] * n
    encoded = split_block(Block(kind, range(n), values, [None] * n, ts), target_bytes=12_200)
    for e in encoded[:: max(1, len(encoded) // 4)]:
        back = decode_block(e.data)
        first = back.steps[0]
        assert list(back.values) == values[first : first + len(back)]
        assert list(back.timestamps) == ts[first : first + len(back)]
    return sum(len(e.data) for e in encoded) / n


def test_bytes_per_point_of_typical_series_with_jittered_timestamps() -> None:
    n = 100_000
    smooth = [to_float32(1 - math.exp(-i / 20_000)) for i in range(n)]
    noisy = loss_curve(n, 5, float32=True)
    rng = random.Random(3)
    ints = [i // 97 + rng.randrange(4) for i in range(n)]
    assert _blocks_bytes_per_point(smooth, ValueKind.FLOAT, True) <= 3
    assert _blocks_bytes_per_point(noisy, ValueKind.FLOAT, True) <= 5
    assert _blocks_bytes_per_point(ints, ValueKind.INT, False) <= 1
    assert _blocks_bytes_per_point([7.0] * n, ValueKind.FLOAT, False) <= 1


def _version_1_block(block: Block) -> bytes:
    """A block as format 1 wrote it (what existing stores and backups hold)."""
    out = bytearray((1, int(block.kind)))
    put_uvarint(out, len(block))
    put_bytes(out, encode_summary(block.summary))
    put_bytes(out, v1.encode_int_column(block.steps))
    put_bytes(out, v1.encode_float_column(block.values))
    epochs = block.epochs
    put_bytes(out, bytes((1,)) + v1.encode_int_column(epochs))  # type: ignore[arg-type]
    put_bytes(out, bytes((0,)))  # no timestamps
    put_bytes(out, v1.pack(block.sketch))
    return bytes(out)


def test_version_1_blocks_still_decode() -> None:
    n = 3_000
    values = loss_curve(n, 2, float32=False)
    block = Block(ValueKind.FLOAT, range(10, 10 + 2 * n, 2), values, [i // 100 for i in range(n)], [None] * n)
    old = decode_block(_version_1_block(block))
    assert BLOCK_VERSION == 2
    assert list(old.steps) == list(block.steps)
    assert bits(old.values) == bits(values)
    assert list(old.epochs) == [i // 100 for i in range(n)]
    assert list(old.timestamps) == [None] * n
    assert old.summary == block.summary
    assert old.sketch == block.sketch
