"""Columns (float64/int64 arrays, ranges) encode to the same numpy blobs as the per-item path."""

from __future__ import annotations

import math
from array import array
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from matyan_api.streaming import decode_float64_array, encode_float64_array


def per_item(values: list[Any]) -> dict[str, Any]:
    """What a plain list (one Python float per item) encodes to."""
    return encode_float64_array(list(values))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(allow_nan=False, width=64), max_size=50))
def test_float_columns_encode_like_lists(values: list[float]) -> None:
    column = array("d", values)
    assert encode_float64_array(column) == per_item(values)
    assert decode_float64_array(encode_float64_array(column)) == values


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(-(2**63), 2**63 - 1), max_size=50))
def test_int_columns_widen_like_float(values: list[int]) -> None:
    assert encode_float64_array(array("q", values)) == per_item(values)


def test_ranges_and_special_values() -> None:
    assert encode_float64_array(range(7, 70, 9)) == per_item(list(range(7, 70, 9)))
    assert encode_float64_array(range(2**64 - 3, 2**64)) == per_item(list(range(2**64 - 3, 2**64)))
    special = array("d", [math.inf, -math.inf, -0.0, 5e-324])
    assert encode_float64_array(special)["blob"] == per_item(list(special))["blob"]
    nan = encode_float64_array(array("d", [math.nan]))
    assert nan["shape"] == 1
    assert math.isnan(decode_float64_array(nan)[0])
    assert encode_float64_array(array("d")) == {"type": "numpy", "shape": 0, "dtype": "float64", "blob": b""}
