"""Series columns rendered as JSON arrays without a Python object per point.

The JSON routes render bodies with :func:`~matyan_api.json_encoding.dumps_safe` (compact, UTF-8, no
NaN) and show each value through :func:`~matyan_api.routes.runs_common.json_number` (a finite float,
else ``null``). Here int64/float64 columns go through orjson's numpy encoder instead,
byte for byte the same text: orjson writes the shortest round-tripping digits like ``repr`` and NaN and
infinities as ``null``; it only spells numbers below 1e-4 differently (``1e-7``, ``0.00001`` where
``repr`` gives ``1e-07``, ``1e-05``), so those few are re-rendered with ``repr``. Columns of other
types (lists of objects, bools) take the plain path.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import orjson

from matyan_api.json_encoding import dumps_safe
from matyan_api.routes.runs_common import json_number

__all__ = ["json_int_array", "json_number_array"]

# Below this magnitude ``repr`` switches to an exponent ("1e-05") where orjson writes fixed digits.
_REPR_EXPONENT_BELOW: Final = 1e-4
_INT64_END: Final = 1 << 63


def _int64(column: Sequence[Any]) -> npt.NDArray[np.int64] | None:
    if isinstance(column, array) and column.typecode == "q":
        return np.frombuffer(column, dtype=np.int64)
    if isinstance(column, range) and column.start >= -_INT64_END and column.stop <= _INT64_END:
        return np.arange(column.start, column.stop, column.step, dtype=np.int64)
    return None


def _float64(column: Sequence[Any]) -> npt.NDArray[np.float64] | None:
    if isinstance(column, array) and column.typecode == "d":
        return np.frombuffer(column, dtype=np.float64)
    ints = _int64(column)
    # float(int) rounds to nearest, as the int64 -> float64 cast does.
    return None if ints is None else ints.astype(np.float64)


def json_int_array(steps: Sequence[int]) -> bytes:
    """``steps`` (ints) as a JSON array."""
    ints = _int64(steps)
    if ints is None:
        return orjson.dumps(list(steps))
    return orjson.dumps(ints, option=orjson.OPT_SERIALIZE_NUMPY)


def json_number_array(values: Sequence[Any]) -> bytes:
    """``[json_number(v) for v in values]`` as a JSON array, vectorized for int64/float64 columns."""
    floats = _float64(values)
    if floats is None:
        return dumps_safe([json_number(v) for v in values])
    body = orjson.dumps(floats, option=orjson.OPT_SERIALIZE_NUMPY)
    magnitude = np.abs(floats)
    tiny = np.flatnonzero((magnitude < _REPR_EXPONENT_BELOW) & (magnitude > 0))
    if not len(tiny):
        return body
    # Numbers never contain a comma: split the array into its items, swap in repr's spelling of the
    # tiny ones (one C-level repr of their list), join again.
    items = np.array(body[1:-1].split(b","), dtype=object)
    items[tiny] = repr(floats[tiny].tolist())[1:-1].encode().split(b", ")
    return b"[" + b",".join(items.tolist()) + b"]"
