"""Byte level of the streaming codec: one ``(path, value)`` pair (docs/http-contract.md, Streaming frames).

A pair on the wire is ``u32le(len(key)) key u32le(len(val)) val``. The key joins the path components:
a string is its UTF-8 bytes followed by ``0xFE``; an int is ``0xFE``, a big-endian int64, ``0xFE``.
The value is a one-byte type tag and its payload. Both the released UI and the released client decode
exactly this, so nothing here may change shape.

Values the format has no room for are sent in a form both decoders read (docs/http-contract.md,
Values): an int outside int64, as a value or a key, is its decimal string; a lone surrogate in a
string (not a Unicode character, so not UTF-8) is U+FFFD. Nothing stored can make the encoder raise.
"""

from __future__ import annotations

import re
import struct
from enum import IntEnum
from typing import Any, Final

__all__ = [
    "ARRAY",
    "OBJECT",
    "SEPARATOR",
    "Flag",
    "Path",
    "PathPart",
    "Tag",
    "encode_key",
    "encode_key_part",
    "encode_pair",
    "encode_value",
    "fits_int64",
    "utf8",
]

SEPARATOR: Final = 0xFE
_SEP: Final = bytes([SEPARATOR])

_U32_LE: Final = struct.Struct("<I")
_I64_LE: Final = struct.Struct("<q")
_F64_LE: Final = struct.Struct("<d")
_I64_BE: Final = struct.Struct(">q")

_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1
# Python strings may hold surrogate code points (json.loads makes one of "\\ud800"); UTF-8 has none.
_SURROGATES: Final = re.compile("[\ud800-\udfff]")

type PathPart = str | int
type Path = tuple[PathPart, ...]


class Tag(IntEnum):
    """The value type tags (first byte of every value)."""

    NONE = 0
    BOOL = 1
    INT = 2
    FLOAT = 3
    STR = 4
    BYTES = 5
    ARRAY = 6
    OBJECT = 7


class Flag:
    """A structural marker: a list (``ARRAY``) or an empty dict (``OBJECT``) sits at the pair's path."""

    __slots__ = ("name", "tag")

    def __init__(self, name: str, tag: Tag) -> None:
        self.name = name
        self.tag = tag

    def __repr__(self) -> str:
        return self.name


ARRAY: Final = Flag("ARRAY", Tag.ARRAY)
OBJECT: Final = Flag("OBJECT", Tag.OBJECT)

_ARRAY_VALUE: Final = bytes([Tag.ARRAY])
_OBJECT_VALUE: Final = bytes([Tag.OBJECT])
_NONE_VALUE: Final = bytes([Tag.NONE])
_TRUE_VALUE: Final = bytes([Tag.BOOL, 1])
_FALSE_VALUE: Final = bytes([Tag.BOOL, 0])
_INT_TAG: Final = bytes([Tag.INT])
_FLOAT_TAG: Final = bytes([Tag.FLOAT])
_STR_TAG: Final = bytes([Tag.STR])
_BYTES_TAG: Final = bytes([Tag.BYTES])


def fits_int64(value: int) -> bool:
    """Whether ``value`` has the wire's int form (else it travels as its decimal string)."""
    return _INT64_MIN <= value <= _INT64_MAX


def utf8(text: str) -> bytes:
    """``text`` as UTF-8, each lone surrogate replaced by U+FFFD."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATES.sub("\ufffd", text).encode("utf-8")


def encode_key_part(part: PathPart) -> bytes:
    """One path component as key bytes (bools are ints; ``""`` and other types raise)."""
    if isinstance(part, str):
        if not part:
            # A lone 0xFE would read back as the start of an int key in both released decoders.
            raise ValueError("an empty string cannot be a path component")
        return utf8(part) + _SEP
    if isinstance(part, int):
        if not fits_int64(part):
            return str(part).encode("ascii") + _SEP
        return _SEP + _I64_BE.pack(part) + _SEP
    raise TypeError(f"Unsupported key type: {type(part).__name__}")


def encode_key(path: Path) -> bytes:
    """The key bytes of a whole path; the empty path (a scalar root) is the empty key."""
    return b"".join(encode_key_part(part) for part in path)


def encode_value(value: Any) -> bytes:
    """A value as tag + payload; ``TypeError`` for anything the codec has no tag for."""
    # bool before int: bool is an int subclass and has its own tag.
    if value is None:
        return _NONE_VALUE
    if value is True:
        return _TRUE_VALUE
    if value is False:
        return _FALSE_VALUE
    if isinstance(value, int):
        if not fits_int64(value):
            return _STR_TAG + str(value).encode("ascii")
        return _INT_TAG + _I64_LE.pack(value)
    if isinstance(value, float):
        return _FLOAT_TAG + _F64_LE.pack(value)
    if isinstance(value, str):
        return _STR_TAG + utf8(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return _BYTES_TAG + bytes(value)
    if value is ARRAY:
        return _ARRAY_VALUE
    if value is OBJECT:
        return _OBJECT_VALUE
    raise TypeError(f"Unsupported value type: {type(value).__name__}")


def encode_pair(key: bytes, value: bytes) -> bytes:
    """Frame an encoded key and value as one pair (length-prefixed, little-endian u32)."""
    return b"".join((_U32_LE.pack(len(key)), key, _U32_LE.pack(len(value)), value))
