"""Numeric arrays in the "numpy encodable" shape the UI turns into a ``Float64Array``.

See docs/http-contract.md, Streaming frames.

``{"type": "numpy", "shape": n, "dtype": "float64", "blob": <n little-endian float64>}``; an empty array
has shape 0 and blob ``b""``.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterable
from typing import Any

__all__ = ["decode_float64_array", "encode_float64_array"]


def encode_float64_array(values: Iterable[float]) -> dict[str, Any]:
    """The EncodedNumpy dict of ``values`` (ints are widened to float64)."""
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
