"""Vectorized JSON arrays render exactly what the per-value path renders."""

from __future__ import annotations

import json
import math
import struct
from array import array
from collections.abc import Sequence
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from matyan_api.routes.json_columns import json_int_array, json_number_array
from matyan_api.routes.runs_common import json_number


def json_body(value: Any) -> bytes:
    """``value`` as the JSON routes always rendered it (compact, UTF-8, no NaN)."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def per_value(values: Sequence[Any]) -> bytes:
    """The body today's routes render for a value column."""
    return json_body([json_number(v) for v in values])


EDGES = [
    0.0,
    -0.0,
    1e-7,
    -2.5e-5,
    1e-5,
    9.999999999999999e-5,
    1e-4,
    0.000123,
    5e-324,
    2.2250738585072014e-308,
    0.1,
    1 / 3,
    3.0,
    1e15,
    9.999999999999998e15,
    1e16,
    1.5e16,
    1e21,
    1e22,
    1.7976931348623157e308,
    math.nan,
    math.inf,
    -math.inf,
]


def test_edge_floats_render_like_the_per_value_path() -> None:
    column = array("d", EDGES)
    assert json_number_array(column) == per_value(EDGES)
    # Tiny values among ordinary ones, and a column of only tiny values (a learning rate).
    mixed = array("d", [0.5, 1e-6, 2.0, -3e-9, math.nan, 4e-5])
    assert json_number_array(mixed) == per_value(list(mixed))
    lr = array("d", [3e-5 * 0.99**i for i in range(500)])
    assert json_number_array(lr) == per_value(list(lr))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), max_size=60))
def test_any_float_column_renders_like_the_per_value_path(values: list[float]) -> None:
    assert json_number_array(array("d", values)) == per_value(values)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 2**64 - 1), max_size=30))
def test_any_bit_pattern_renders_like_the_per_value_path(bits: list[int]) -> None:
    values = [struct.unpack("<d", struct.pack("<Q", b))[0] for b in bits]
    assert json_number_array(array("d", values)) == per_value(values)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(-(2**63), 2**63 - 1), max_size=40))
def test_int_columns_render_as_floats_like_the_per_value_path(values: list[int]) -> None:
    assert json_number_array(array("q", values)) == per_value(values)
    steps = sorted({v for v in values if v >= 0})
    assert json_int_array(array("q", steps)) == json_body(steps)


def test_ranges_lists_and_objects() -> None:
    assert json_int_array(range(3, 30, 4)) == json_body(list(range(3, 30, 4)))
    assert json_number_array(range(5)) == per_value(list(range(5)))
    assert json_int_array([0, 2**64 - 1]) == json_body([0, 2**64 - 1])
    # Lists (bools, objects, ints beyond the float range) take the per-value path.
    others: list[Any] = [True, False, {"a": 1}, "x", None, 10**400, 1e-7]
    assert json_number_array(others) == per_value(others)
    assert json_number_array(array("d")) == b"[]"
    assert json_int_array(array("q")) == b"[]"
