"""Numeric columns of block format 2: delta-of-delta, XOR and narrowest-width floats, decoded with numpy.

An int64 column (steps, epochs, int values, the bit patterns of floats) is stored as one transform of
its lanes, whichever is smallest:

* IDENTITY: the lanes as they are;
* XOR: the first lane, then each lane XORed with the previous one (slowly moving floats share sign,
  exponent and top mantissa bits, so the residuals have many zero high bits);
* DELTA: the first lane, then differences (monotone steps with gaps, jittered timestamps);
* DOD: the first lane and first difference, then differences of differences (regular steps, clock-like
  timestamps: all residuals zero).

The residuals are shifted by their minimum ("frame of reference", so they are small and non-negative),
split into byte planes (every 8th byte together), all-zero planes dropped and each other plane deflated
on its own (a plane of long zero runs costs a few bytes: the run-length part). All arithmetic wraps
modulo 2**64, so every transform is exact for any int64 lanes.

A float column whose every value is exactly a float32 (what ``tensor.item()`` of a float32 tensor
gives; NaN and infinities included) is stored as the float32 bit patterns, 4 bytes a lane at most;
otherwise as float64 bit patterns. Decoding runs at C speed: one inflate per plane and a numpy pass
per transform.
"""

from __future__ import annotations

import zlib
from array import array
from typing import Final

import numpy as np
import numpy.typing as npt

from matyan_store.codec.varint import ByteReader, put_bytes, put_svarint

IDENTITY: Final = 0
XOR: Final = 1
DELTA: Final = 2
DOD: Final = 3

_RAW: Final = 0
_DEFLATED: Final = 1
_DEFLATE_LEVEL: Final = 6

FLOAT64: Final = 0
FLOAT32: Final = 1

I64 = npt.NDArray[np.int64]


def _pack_plane(plane: bytes) -> bytes:
    comp = zlib.compressobj(_DEFLATE_LEVEL, zlib.DEFLATED, -15)
    packed = comp.compress(plane) + comp.flush()
    if len(packed) < len(plane):
        return bytes((_DEFLATED,)) + packed
    return bytes((_RAW,)) + plane


def _unpack_plane(data: bytes) -> bytes:
    if not data:
        raise ValueError("empty byte plane")
    if data[0] == _DEFLATED:
        return zlib.decompress(data[1:], -15)
    if data[0] == _RAW:
        return data[1:]
    raise ValueError(f"unknown plane packing 0x{data[0]:02x}")


def _planes(residuals: I64) -> bytes:
    """Mask byte of the non-zero planes, then each such plane packed, length-prefixed."""
    n = len(residuals)
    out = bytearray(1)
    if n == 0:
        return bytes(out)
    shuffled = residuals.view(np.uint8).reshape(n, 8).T
    nonzero = shuffled.any(axis=1)
    mask = 0
    for k in range(8):
        if nonzero[k]:
            mask |= 1 << k
            put_bytes(out, _pack_plane(shuffled[k].tobytes()))
    out[0] = mask
    return bytes(out)


def _from_planes(r: ByteReader, n: int) -> I64:
    mask = r.byte()
    out = np.zeros(n, dtype=np.int64)
    # Little-endian byte k of every lane is column k of the (n, 8) byte view: write only the planes
    # stored (usually one to three of the eight).
    lanes = out.view(np.uint8).reshape(n, 8)
    for k in range(8):
        if mask >> k & 1:
            plane = _unpack_plane(r.sized())
            if len(plane) != n:
                raise ValueError("byte plane has the wrong length")
            lanes[:, k] = np.frombuffer(plane, dtype=np.uint8)
    return out


def _residuals(lanes: I64, transform: int) -> tuple[list[int], I64]:
    """Heads (lanes kept whole) and residuals of ``transform``; int64 arithmetic wraps, as decoding does."""
    with np.errstate(over="ignore"):
        if transform == IDENTITY or len(lanes) == 0:
            return [], lanes
        if transform == XOR:
            return [int(lanes[0])], lanes[1:] ^ lanes[:-1]
        d = lanes[1:] - lanes[:-1]
        if transform == DELTA or len(d) == 0:
            return [int(lanes[0])], d
        return [int(lanes[0]), int(d[0])], d[1:] - d[:-1]


def _shifted(lanes: I64, transform: int) -> tuple[list[int], int, I64]:
    """Heads, frame-of-reference base and shifted (small, non-negative) residuals of ``transform``."""
    heads, res = _residuals(lanes, transform)
    base = int(res.min()) if len(res) else 0
    with np.errstate(over="ignore"):
        shifted = np.ascontiguousarray(res - np.int64(base))
    return heads, base, shifted


def _cost(shifted: I64) -> float:
    """About how many bits the residuals take (a cheap stand-in for packing them)."""
    if len(shifted) == 0:
        return 0.0
    # As unsigned: a wrapped residual is a large number, and costs like one.
    return float(np.log2(shifted.view(np.uint64).astype(np.float64) + 1.0).sum())


def _encode_shifted(transform: int, heads: list[int], base: int, shifted: I64) -> bytes:
    out = bytearray((transform,))
    for h in heads:
        put_svarint(out, h)
    put_svarint(out, base)
    out += _planes(shifted)
    return bytes(out)


_TRIED: Final = 2
"""Transforms actually packed per column (the cheapest by :func:`_cost`); the smallest is kept."""


def encode_lanes(lanes: I64) -> bytes:
    """The smallest transform of an int64 column (any values; see the module doc)."""
    lanes = np.ascontiguousarray(lanes, dtype=np.int64)
    ranked = sorted(
        ((transform, *_shifted(lanes, transform)) for transform in (DOD, DELTA, XOR, IDENTITY)),
        key=lambda c: _cost(c[3]),
    )
    encoded = [_encode_shifted(*c) for c in ranked[:_TRIED]]
    return min(encoded, key=len)


def decode_lanes(data: bytes, n: int) -> I64:
    """Inverse of :func:`encode_lanes` for ``n`` lanes."""
    r = ByteReader(data)
    lanes = _read_lanes(r, n)
    if not r.at_end():
        raise ValueError("trailing bytes after a column")
    return lanes


def _read_lanes(r: ByteReader, n: int) -> I64:
    transform = r.byte()
    if transform not in (IDENTITY, XOR, DELTA, DOD):
        raise ValueError(f"unknown column transform {transform}")
    heads = 0 if transform == IDENTITY else (2 if transform == DOD else 1)
    heads = min(heads, n)
    head_values = [r.svarint() for _ in range(heads)]
    base = r.svarint()
    res = _from_planes(r, n - heads)
    with np.errstate(over="ignore"):
        res = res + np.int64(base)
        if transform == IDENTITY:
            return res
        out = np.empty(n, dtype=np.int64)
        if n == 0:
            return out
        out[0] = head_values[0]
        if transform == XOR:
            np.bitwise_xor.accumulate(np.concatenate((out[:1], res)), out=out)
            return out
        if transform == DOD and n > 1:
            d = np.empty(n - 1, dtype=np.int64)
            d[0] = head_values[1]
            np.cumsum(np.concatenate((d[:1], res)), out=d)
            res = d
        np.cumsum(np.concatenate((out[:1], res)), out=out)
    return out


def regular_range(lanes: I64) -> range | None:
    """``lanes`` as a ``range`` when they form an increasing arithmetic progression (cheap bisects)."""
    n = len(lanes)
    if n == 0:
        return None
    first = int(lanes[0])
    step = int(lanes[1]) - first if n > 1 else 1
    if step <= 0 or int(lanes[-1]) != first + step * (n - 1):
        return None
    if n > 2 and not np.array_equal(lanes, np.arange(first, first + step * n, step, dtype=np.int64)):
        return None
    return range(first, first + step * n, step)


def encode_int_column(values: object) -> bytes:
    """Encode int64 values (``ValueError`` outside int64)."""
    try:
        lanes = np.asarray(values, dtype=np.int64)
    except OverflowError:
        raise ValueError("int column values must fit in int64") from None
    return encode_lanes(lanes)


def decode_int_column(data: bytes, n: int) -> array[int] | range:
    """Decode ``n`` ints: a ``range`` for regular progressions, else an ``array('q')``."""
    lanes = decode_lanes(data, n)
    regular = regular_range(lanes)
    if regular is not None:
        return regular
    out = array("q")
    out.frombytes(lanes.tobytes())
    return out


def _float32_exact(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float32] | None:
    with np.errstate(over="ignore", invalid="ignore"):
        narrow = values.astype(np.float32)
    if np.array_equal(narrow.astype(np.float64).view(np.int64), values.view(np.int64)):
        return narrow
    return None


def encode_float_column(values: object) -> bytes:
    """Encode float64 values bit-exactly, as float32 bit patterns when that loses nothing."""
    arr = np.ascontiguousarray(np.asarray(values, dtype=np.float64))
    narrow = _float32_exact(arr)
    if narrow is not None:
        return bytes((FLOAT32,)) + encode_lanes(narrow.view(np.int32).astype(np.int64))
    return bytes((FLOAT64,)) + encode_lanes(arr.view(np.int64))


def decode_float_array(data: bytes, n: int) -> npt.NDArray[np.float64]:
    """Decode ``n`` floats written by :func:`encode_float_column` as a float64 numpy array."""
    if not data:
        raise ValueError("empty float column")
    lanes = decode_lanes(data[1:], n)
    if data[0] == FLOAT32:
        return lanes.astype(np.int32).view(np.float32).astype(np.float64)
    if data[0] == FLOAT64:
        return lanes.view(np.float64)
    raise ValueError(f"unknown float column width {data[0]}")


def decode_float_column(data: bytes, n: int) -> array[float]:
    """Decode ``n`` floats written by :func:`encode_float_column`."""
    out = array("d")
    out.frombytes(decode_float_array(data, n).tobytes())
    return out


__all__ = [
    "decode_float_array",
    "decode_float_column",
    "decode_int_column",
    "decode_lanes",
    "encode_float_column",
    "encode_int_column",
    "encode_lanes",
    "regular_range",
]
