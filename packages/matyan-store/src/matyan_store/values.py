"""How the store encodes the values of its keys (meta fields, attrs leaves, entity fields, ...).

One compact binary form for everything: JSON-like data plus bytes, bit-exact floats, dicts keeping their
key types and order (a dict with int keys reads back as a dict). It is the object codec of the series
blocks, so a value reads back the same wherever it is stored.
"""

from __future__ import annotations

from typing import Any

from matyan_store.codec.object_codec import decode_object_bytes, encode_object

__all__ = ["decode_value", "encode_value"]


def encode_value(value: Any) -> bytes:
    """Encode ``value`` (None, bool, int, float, str, bytes, lists/tuples, dicts) for storage."""
    return bytes(encode_object(value))


def decode_value(data: bytes) -> Any:
    """Decode bytes produced by :func:`encode_value`."""
    return decode_object_bytes(data)
