"""Binary encoding of blocks: a version byte, the kind, the count, the summary, then one packed column each.

Layout (all lengths are varints)::

    version | kind | count | len+summary | len+steps | len+values | len+epochs | len+timestamps | len+sketch

Version 2 (written now) stores steps, epochs, int values, floats and timestamps with the numeric
columns of :mod:`matyan_store.codec.columns` (delta-of-delta, XOR, float32 when exact); version 1
blocks (:mod:`matyan_store.codec.int_columns`) still decode, so existing stores and backups keep
working. Bools are one byte each and objects use :mod:`matyan_store.codec.object_codec`, both
deflated. Epochs and timestamps cost one byte when all None. The summary sits in front so
:func:`read_block_summary` needs no decompression.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from matyan_store.codec import columns, int_columns
from matyan_store.codec.block import Block, Column
from matyan_store.codec.header import header, read_header
from matyan_store.codec.int_columns import pack, unpack
from matyan_store.codec.object_codec import decode_object, encode_object
from matyan_store.codec.points import Point, Value, ValueKind
from matyan_store.codec.summary import BlockSummary, encode_summary, read_summary
from matyan_store.codec.varint import ByteReader, put_bytes, put_uvarint

BLOCK_VERSION = 2
"""The version :func:`encode_block_columns` writes; :func:`decode_block` reads it and version 1."""

_V1 = 1


@dataclass(frozen=True, slots=True)
class _ColumnCodec:
    """How one block version decodes its numeric columns."""

    ints: Callable[[bytes, int], Column]
    floats: Callable[[bytes, int], Column]


_DECODERS = {
    _V1: _ColumnCodec(int_columns.decode_int_column, int_columns.decode_float_column),
    BLOCK_VERSION: _ColumnCodec(columns.decode_int_column, columns.decode_float_column),
}

_ALL_NONE = 0
_ALL_PRESENT = 1
_MIXED = 2


def encode_block(points: Iterable[Point | tuple[Any, ...]], kind: ValueKind | None = None) -> bytes:
    """Encode points (any order; a repeated step keeps its last point) into one block value."""
    return encode_block_columns(Block.from_points(points, kind))


def encode_block_columns(block: Block) -> bytes:
    """Encode an already built :class:`Block`."""
    n = len(block)
    if n == 0:
        raise ValueError("cannot encode an empty block")
    out = header(BLOCK_VERSION, block.kind)
    put_uvarint(out, n)
    put_bytes(out, encode_summary(block.summary))
    put_bytes(out, columns.encode_int_column(block.steps))
    put_bytes(out, _encode_values(block.kind, block.values))
    put_bytes(out, _encode_optional(block.epochs, columns.encode_int_column))
    put_bytes(out, _encode_optional(block.timestamps, columns.encode_float_column))
    sketch = block.sketch
    put_bytes(out, pack(sketch) if sketch else b"")
    return bytes(out)


def _encode_values(kind: ValueKind, values: Sequence[Value]) -> bytes:
    if kind is ValueKind.FLOAT:
        return columns.encode_float_column(values)
    if kind is ValueKind.INT:
        return columns.encode_int_column(values)
    if kind is ValueKind.BOOL:
        return pack(bytes(1 if v else 0 for v in values))
    buf = bytearray()
    for v in values:
        encode_object(v, buf)
    return pack(bytes(buf))


def _decode_values(codec: _ColumnCodec, kind: ValueKind, data: bytes, n: int) -> Column:
    if kind is ValueKind.FLOAT:
        return codec.floats(data, n)
    if kind is ValueKind.INT:
        return codec.ints(data, n)
    if kind is ValueKind.BOOL:
        raw = unpack(data)
        if len(raw) != n:
            raise ValueError("bool column has the wrong length")
        return list(map(bool, raw))
    r = ByteReader(unpack(data))
    values = [decode_object(r) for _ in range(n)]
    if not r.at_end():
        raise ValueError("trailing bytes after object values")
    return values


def _encode_optional(column: Sequence[Any], encode: Callable[[Sequence[Any]], bytes]) -> bytes:
    present = [v is not None for v in column]
    if not any(present):
        return bytes((_ALL_NONE,))
    if all(present):
        return bytes((_ALL_PRESENT,)) + encode(column)
    out = bytearray((_MIXED,))
    put_bytes(out, pack(bytes(present)))
    out += encode([v for v in column if v is not None])
    return bytes(out)


def _decode_optional(data: bytes, n: int, decode: Callable[[bytes, int], Sequence[Any]]) -> Column:
    if not data:
        raise ValueError("empty optional column")
    mode = data[0]
    if mode == _ALL_NONE:
        return [None] * n
    if mode == _ALL_PRESENT:
        return decode(data[1:], n)
    if mode == _MIXED:
        r = ByteReader(data, 1)
        present = unpack(r.sized())
        if len(present) != n:
            raise ValueError("presence map has the wrong length")
        values = iter(decode(data[r.pos :], sum(present)))
        return [next(values) if p else None for p in present]
    raise ValueError(f"unknown optional column mode {mode}")


def _read_header(data: bytes) -> tuple[ByteReader, _ColumnCodec, ValueKind, int, bytes]:
    r = ByteReader(data)
    version, kind = read_header(r, _DECODERS, "block")
    n = r.uvarint()
    return r, _DECODERS[version], kind, n, r.sized()


def _parse_summary(raw: bytes, kind: ValueKind, n: int) -> BlockSummary:
    summary = read_summary(ByteReader(raw))
    if summary.count != n or summary.kind is not kind:
        raise ValueError("block summary does not match its header")
    return summary


def read_block_summary(data: bytes) -> BlockSummary:
    """The summary of an encoded block, without touching its columns."""
    _, _, kind, n, raw = _read_header(data)
    return _parse_summary(raw, kind, n)


def decode_block(data: bytes) -> Block:
    """Decode a block value; the summary and each column are decoded lazily, on first access."""
    r, codec, kind, n, summary_raw = _read_header(data)
    steps_raw = r.sized()
    values_raw = r.sized()
    epochs_raw = r.sized()
    ts_raw = r.sized()
    sketch_raw = r.sized()
    if not r.at_end():
        raise ValueError("trailing bytes after block")
    decoders: list[Callable[[], Column]] = [
        lambda: codec.ints(steps_raw, n),
        lambda: _decode_values(codec, kind, values_raw, n),
        lambda: _decode_optional(epochs_raw, n, codec.ints),
        lambda: _decode_optional(ts_raw, n, codec.floats),
    ]
    sketch: Callable[[], bytes] | None = (lambda: unpack(sketch_raw)) if sketch_raw else None
    return Block.lazy(kind, n, decoders, summary=lambda: _parse_summary(summary_raw, kind, n), sketch=sketch)
