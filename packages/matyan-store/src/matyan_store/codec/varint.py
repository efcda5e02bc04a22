"""Variable-length integers and a tiny cursor over bytes, used by every series format."""

from __future__ import annotations

import struct

_F64 = struct.Struct("<d")


def zigzag(n: int) -> int:
    """Map a signed int to an unsigned one so small magnitudes stay small (0, -1, 1, -2 -> 0, 1, 2, 3)."""
    return n << 1 if n >= 0 else ((-n) << 1) - 1


def unzigzag(z: int) -> int:
    """Inverse of :func:`zigzag`."""
    return -((z + 1) >> 1) if z & 1 else z >> 1


def put_uvarint(out: bytearray, n: int) -> None:
    """Append an unsigned LEB128 integer of any size to ``out``."""
    if n < 0:
        raise ValueError(f"uvarint must be non-negative, got {n}")
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def put_svarint(out: bytearray, n: int) -> None:
    """Append a signed (zigzag) LEB128 integer to ``out``."""
    put_uvarint(out, zigzag(n))


def put_bytes(out: bytearray, data: bytes) -> None:
    """Append ``data`` preceded by its length."""
    put_uvarint(out, len(data))
    out += data


def put_f64(out: bytearray, x: float) -> None:
    """Append a little-endian float64 (bit-exact, so NaN payloads and -0.0 survive)."""
    out += _F64.pack(x)


class ByteReader:
    """A forward-only cursor over a bytes-like value; raises ``ValueError`` on truncated input."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes | bytearray | memoryview, pos: int = 0) -> None:
        self.data = memoryview(data).cast("B") if not isinstance(data, bytes) else data
        self.pos = pos

    def byte(self) -> int:
        """Read one unsigned byte."""
        try:
            b = self.data[self.pos]
        except IndexError:
            raise ValueError("truncated series data") from None
        self.pos += 1
        return b

    def uvarint(self) -> int:
        """Read an unsigned LEB128 integer."""
        # One byte (under 128) is by far the most common: answer it without the loop.
        b = self.byte()
        if b < 0x80:
            return b
        shift = 7
        result = b & 0x7F
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            if b < 0x80:
                return result
            shift += 7

    def svarint(self) -> int:
        """Read a zigzag LEB128 integer."""
        return unzigzag(self.uvarint())

    def take(self, n: int) -> bytes:
        """Read exactly ``n`` raw bytes."""
        end = self.pos + n
        if n < 0 or end > len(self.data):
            raise ValueError("truncated series data")
        data = self.data
        chunk = data[self.pos : end] if isinstance(data, bytes) else bytes(data[self.pos : end])
        self.pos = end
        return chunk

    def sized(self) -> bytes:
        """Read a length-prefixed byte string written by :func:`put_bytes`."""
        return self.take(self.uvarint())

    def f64(self) -> float:
        """Read a little-endian float64."""
        pos = self.pos
        if pos + 8 > len(self.data):
            raise ValueError("truncated series data")
        value: float = _F64.unpack_from(self.data, pos)[0]
        self.pos = pos + 8
        return value

    def at_end(self) -> bool:
        """True when every byte has been consumed."""
        return self.pos >= len(self.data)
