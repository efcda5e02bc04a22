"""Compact, fast-to-decode columns of int64 values (steps, epochs, int values, float bit patterns).

Every encoding stores the 8 bytes of each lane as separate byte planes ("shuffled"), drops planes that
are all zero, and deflates the rest. Four modes, the smallest wins:

* ARITH: an arithmetic progression (regular steps) is two varints, whatever the length.
* MONO: a non-decreasing, non-negative column is stored as its first value plus per-point deltas
  (steps with gaps, timestamps, epochs, and the bit patterns of increasing positive floats).
* XOR: each lane XORed with the previous one; slowly moving floats share sign, exponent and top
  mantissa bits, so the high planes become zero.
* PLAIN: the lanes as they are (low-entropy values such as float32-derived floats have zero low planes).

Decoding never loops over points in Python: prefix sums and prefix XORs run on one big integer holding
all lanes (log2(n) shifted adds/XORs), so a column decodes at C speed.
"""

from __future__ import annotations

import zlib
from array import array
from collections.abc import Sequence
from itertools import islice
from operator import le

from matyan_store.codec.varint import ByteReader, put_bytes, put_svarint

_ARITH = 1
_MONO = 2
_XOR = 3
_PLAIN = 4

_RAW = 0
_DEFLATED = 1

DEFLATE_LEVEL = 6

# XOR costs a prefix-XOR pass on decode (about as long as inflating), so it must earn its keep.
_XOR_MIN_SAVING = 0.05

IntColumn = Sequence[int]
"""A decoded column: an ``array('q')`` or, for arithmetic progressions, a ``range``."""


def pack(payload: bytes) -> bytes:
    """Deflate ``payload`` (raw stream, no header) unless that does not make it smaller."""
    comp = zlib.compressobj(DEFLATE_LEVEL, zlib.DEFLATED, -15)
    packed = comp.compress(payload) + comp.flush()
    if len(packed) < len(payload):
        return bytes((_DEFLATED,)) + packed
    return bytes((_RAW,)) + payload


def unpack(data: bytes) -> bytes:
    """Inverse of :func:`pack`."""
    if not data:
        raise ValueError("empty packed payload")
    if data[0] == _DEFLATED:
        return zlib.decompress(data[1:], -15)
    if data[0] == _RAW:
        return data[1:]
    raise ValueError(f"unknown packing 0x{data[0]:02x}")


def _to_planes(raw: bytes, n: int) -> bytes:
    """Shuffle lanes into byte planes, drop all-zero planes and pack each remaining plane on its own.

    Packing planes separately lets deflate store high-entropy planes verbatim (decoded at memcpy
    speed) and give each compressible plane its own Huffman table.
    """
    zero = bytes(n)
    mask = 0
    out = bytearray(1)
    for k in range(8):
        plane = raw[k::8]
        if plane != zero:
            mask |= 1 << k
            put_bytes(out, pack(plane))
    out[0] = mask
    return bytes(out)


def _from_planes(payload: bytes, n: int) -> bytearray:
    if not payload:
        raise ValueError("missing plane mask")
    r = ByteReader(payload)
    mask = r.byte()
    out = bytearray(8 * n)
    for k in range(8):
        if mask >> k & 1:
            plane = unpack(r.sized())
            if len(plane) != n:
                raise ValueError("byte plane has the wrong length")
            out[k::8] = plane
    if not r.at_end():
        raise ValueError("trailing bytes after byte planes")
    return out


def _lanes_int(raw: bytes | bytearray) -> int:
    return int.from_bytes(raw, "little")


def _prefix_sum(x: int, n: int) -> int:
    """Lane-wise running sum of ``n`` 64-bit lanes; the caller guarantees no lane sum overflows."""
    mask = (1 << (64 * n)) - 1
    shift = 64
    while shift < 64 * n:
        x = (x + (x << shift)) & mask
        shift <<= 1
    return x


def _prefix_xor(x: int, n: int) -> int:
    """Lane-wise running XOR of ``n`` 64-bit lanes."""
    mask = (1 << (64 * n)) - 1
    shift = 64
    while shift < 64 * n:
        x = (x ^ (x << shift)) & mask
        shift <<= 1
    return x


def _as_int64_array(values: Sequence[int]) -> array[int]:
    if isinstance(values, array) and values.typecode == "q":
        return values
    try:
        return array("q", values)
    except OverflowError:
        raise ValueError("int column values must fit in int64") from None


def encode_int_column(values: Sequence[int]) -> bytes:
    """Encode int64 values (``ValueError`` outside int64) into the smallest of the column modes."""
    arr = _as_int64_array(values)
    n = len(arr)
    out = bytearray()
    if n == 0:
        out.append(_PLAIN)
        out.append(0)
        return bytes(out)
    raw = arr.tobytes()
    lanes = _lanes_int(raw)
    mask = (1 << (64 * n)) - 1
    candidates: list[bytes] = []
    x0 = arr[0]
    if x0 >= 0 and all(map(le, arr, islice(arr, 1, None))):
        # Non-decreasing and non-negative: lane-wise subtraction never borrows across lanes.
        deltas = (lanes - ((lanes << 64) & mask)) - x0
        draw = deltas.to_bytes(8 * n, "little")
        if n == 1 or draw[8:] == draw[8:16] * (n - 1):
            step = arr[1] - x0 if n > 1 else 0
            out.append(_ARITH)
            put_svarint(out, x0)
            put_svarint(out, step)
            return bytes(out)
        mono = bytearray((_MONO,))
        put_svarint(mono, x0)
        mono += _to_planes(draw, n)
        candidates.append(bytes(mono))
    plain = bytes((_PLAIN,)) + _to_planes(raw, n)
    xored = (lanes ^ (lanes << 64)) & mask
    xor = bytes((_XOR,)) + _to_planes(xored.to_bytes(8 * n, "little"), n)
    candidates.append(xor if len(xor) < len(plain) * (1 - _XOR_MIN_SAVING) else plain)
    return min(candidates, key=len)


def decode_int_column(data: bytes, n: int) -> IntColumn:
    """Decode ``n`` values written by :func:`encode_int_column`."""
    if not data:
        raise ValueError("empty int column")
    mode = data[0]
    if mode == _ARITH:
        r = ByteReader(data, 1)
        x0 = r.svarint()
        step = r.svarint()
        if step > 0:
            return range(x0, x0 + step * n, step)
        return array("q", [x0]) * n
    if mode == _MONO:
        r = ByteReader(data, 1)
        x0 = r.svarint()
        lanes = _lanes_int(_from_planes(data[r.pos :], n))
        total = _prefix_sum(lanes, n) + _lanes_int(x0.to_bytes(8, "little") * n)
        return _int64s(total.to_bytes(8 * n, "little"))
    if mode == _XOR:
        lanes = _lanes_int(_from_planes(data[1:], n))
        return _int64s(_prefix_xor(lanes, n).to_bytes(8 * n, "little"))
    if mode == _PLAIN:
        if n == 0:
            return array("q")
        return _int64s(_from_planes(data[1:], n))
    raise ValueError(f"unknown int column mode {mode}")


def _int64s(raw: bytes | bytearray) -> array[int]:
    out = array("q")
    out.frombytes(raw)
    return out


def floats_to_bits(values: Sequence[float]) -> array[int]:
    """The IEEE-754 bit patterns of float64 values, as int64 (exact for NaN payloads and -0.0)."""
    src = values if isinstance(values, array) and values.typecode == "d" else array("d", values)
    return _int64s(src.tobytes())


def bits_to_floats(bits: Sequence[int]) -> array[float]:
    """Inverse of :func:`floats_to_bits`."""
    src = bits if isinstance(bits, array) and bits.typecode == "q" else array("q", bits)
    out = array("d")
    out.frombytes(src.tobytes())
    return out


def encode_float_column(values: Sequence[float]) -> bytes:
    """Encode float64 values bit-exactly through their bit patterns."""
    return encode_int_column(floats_to_bits(values))


def decode_float_column(data: bytes, n: int) -> array[float]:
    """Decode ``n`` floats written by :func:`encode_float_column`."""
    return bits_to_floats(decode_int_column(data, n))


__all__ = [
    "IntColumn",
    "bits_to_floats",
    "decode_float_column",
    "decode_int_column",
    "encode_float_column",
    "encode_int_column",
    "floats_to_bits",
    "pack",
    "unpack",
]
