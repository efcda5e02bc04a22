"""Numeric arrays in the "numpy encodable" shape the UI turns into a ``Float64Array``.

See docs/http-contract.md, Streaming frames.

``{"type": "numpy", "shape": n, "dtype": "float64", "blob": <n little-endian float64>}``; an empty array
has shape 0 and blob ``b""``.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterable
from typing import Any, Final

import numpy as np

__all__ = ["decode_float64_array", "encode_float64_array"]


_INT64_END: Final = 1 << 63


def _columnar(values: Iterable[float]) -> np.ndarray[Any, Any] | None:
    """``values`` as a numpy array without a Python object per item, when it is an int/float column."""
    if isinstance(values, np.ndarray):
        return values
    if isinstance(values, array) and values.typecode in ("d", "q"):
        return np.frombuffer(values, dtype=np.float64 if values.typecode == "d" else np.int64)
    if isinstance(values, range) and values.start >= -_INT64_END and values.stop <= _INT64_END:
        return np.arange(values.start, values.stop, values.step, dtype=np.int64)
    return None


def encode_float64_array(values: Iterable[float]) -> dict[str, Any]:
    """The EncodedNumpy dict of ``values`` (ints are widened to float64).

    Float64 columns (the stored form of float series) are copied as they are; int columns are cast
    in one pass (rounding to nearest, as ``float(int)`` does).
    """
    column = _columnar(values)
    if column is not None:
        blob = column.astype("<f8", copy=False).tobytes()
        return {"type": "numpy", "shape": len(column), "dtype": "float64", "blob": blob}
    data = array("d", (float(v) for v in values))
    if sys.byteorder == "big":
        data.byteswap()
    return {"type": "numpy", "shape": len(data), "dtype": "float64", "blob": data.tobytes()}


def decode_float64_array(encoded: dict[str, Any]) -> list[float]:
    """The floats of an EncodedNumpy dict (checks type, dtype and that the blob matches the shape)."""
    if encoded.get("type") != "numpy" or encoded.get("dtype") != "float64":
        raise ValueError("not a float64 numpy encodable")
    blob = encoded.get("blob", b"")
    data = array("d")
    data.frombytes(blob)
    if sys.byteorder == "big":
        data.byteswap()
    if len(data) != encoded.get("shape"):
        raise ValueError("blob length does not match shape")
    return data.tolist()
