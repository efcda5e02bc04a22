"""A compact, self-delimiting binary encoding for object values (JSON-like data plus bytes).

Tags are one byte; ints are zigzag varints of any size, floats are bit-exact float64, strings are
UTF-8 (lone surrogates allowed), bytes are raw. Tuples are written as lists. Dict keys may be any
encodable value and keep their insertion order.
"""

from __future__ import annotations

from typing import Any

from matyan_store.codec.varint import ByteReader, put_bytes, put_f64, put_svarint, put_uvarint

_NONE = 0x00
_FALSE = 0x01
_TRUE = 0x02
_INT = 0x03
_FLOAT = 0x04
_STR = 0x05
_BYTES = 0x06
_LIST = 0x07
_DICT = 0x08

# Deeply nested input is almost certainly a bug or an attack; refuse it instead of exhausting the stack.
MAX_DEPTH = 200

_KEY_TYPES = frozenset({str, int, float, bool, bytes, type(None)})


def encode_object(value: Any, out: bytearray | None = None) -> bytearray:
    """Append the encoding of ``value`` to ``out`` (or a new buffer) and return the buffer.

    Raises ``TypeError`` for values that are not None/bool/int/float/str/bytes/list/tuple/dict.
    """
    buf = bytearray() if out is None else out
    _encode(value, buf, 0)
    return buf


def _encode(value: Any, out: bytearray, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ValueError("object value nested too deeply")
    t = type(value)
    if value is None:
        out.append(_NONE)
    elif t is bool:
        out.append(_TRUE if value else _FALSE)
    elif t is int:
        out.append(_INT)
        put_svarint(out, value)
    elif t is float:
        out.append(_FLOAT)
        put_f64(out, value)
    elif t is str:
        out.append(_STR)
        put_bytes(out, value.encode("utf-8", "surrogatepass"))
    elif t is bytes or t is bytearray or t is memoryview:
        out.append(_BYTES)
        put_bytes(out, bytes(value))
    elif t is list or t is tuple:
        out.append(_LIST)
        put_uvarint(out, len(value))
        for item in value:
            _encode(item, out, depth + 1)
    elif t is dict:
        out.append(_DICT)
        put_uvarint(out, len(value))
        for k, v in value.items():
            if type(k) not in _KEY_TYPES:
                # Tuples would come back as (unhashable) lists, so only scalar keys are accepted.
                raise TypeError(f"cannot store a {type(k).__name__} dict key in a series object value")
            _encode(k, out, depth + 1)
            _encode(v, out, depth + 1)
    else:
        raise TypeError(f"cannot store a {t.__name__} in a series object value")


def decode_object(reader: ByteReader) -> Any:
    """Read one value written by :func:`encode_object` from ``reader``."""
    return _decode(reader, 0)


def decode_object_bytes(data: bytes) -> Any:
    """Decode a buffer holding exactly one encoded value."""
    reader = ByteReader(data)
    value = _decode(reader, 0)
    if not reader.at_end():
        raise ValueError("trailing bytes after object value")
    return value


def _decode(r: ByteReader, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise ValueError("object value nested too deeply")
    tag = r.byte()
    if tag == _NONE:
        return None
    if tag == _FALSE:
        return False
    if tag == _TRUE:
        return True
    if tag == _INT:
        return r.svarint()
    if tag == _FLOAT:
        return r.f64()
    if tag == _STR:
        return r.sized().decode("utf-8", "surrogatepass")
    if tag == _BYTES:
        return r.sized()
    if tag == _LIST:
        return [_decode(r, depth + 1) for _ in range(r.uvarint())]
    if tag == _DICT:
        n = r.uvarint()
        result: dict[Any, Any] = {}
        for _ in range(n):
            k = _decode(r, depth + 1)
            result[k] = _decode(r, depth + 1)
        return result
    raise ValueError(f"unknown object tag 0x{tag:02x}")
