"""Open blocks: the tail block of a series kept as raw, append-friendly segments until it is sealed.

Encoding a compressed block costs milliseconds (several column modes, deflate), so re-encoding the
partly filled tail block on every small write made single-point appends slow. The tail block is kept
*open* instead: its body is a list of segments, each holding a run of consecutive points as fixed-width
packed columns without compression, and an append writes one new segment (a small key) plus the
block's index entry, whose summary is extended incrementally. When the open block grows past
:func:`open_max_bytes` (or receives points out of order, or changes value kind) the store seals it into
compressed codec blocks, keeping only a small remainder open.

Segment layout (one value)::

    version | kind | count | len+steps(int64 LE) | len+values | epochs column | timestamps column

Values are float64 (FLOAT), int64 (INT), one byte each (BOOL) or :mod:`~matyan_store.codec.object_codec`
items (OBJECT). An optional column is a mode byte (all None, all present, mixed) followed, when present,
by a presence byte per point (mixed only) and the int64/float64 lanes (0 where absent). The encoding is a
function of the points only, so rewriting the same points gives the same bytes (replays change nothing).
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from itertools import pairwise
from typing import Any

from matyan_store.codec import Block, ValueKind
from matyan_store.codec.header import header, read_header
from matyan_store.codec.object_codec import decode_object, encode_object
from matyan_store.codec.points import Point, Value, coerce_values, infer_kind
from matyan_store.codec.reads import concat_blocks
from matyan_store.codec.varint import ByteReader, put_bytes, put_uvarint

SEGMENT_VERSION = 1

MAX_SEGMENTS = 64
"""An append that would make an open block hold more segments rewrites it as a few large ones."""

_NONE = 0
_ALL = 1
_MIXED = 2

_FLOAT_INT_LIMIT = 1 << 53


def open_max_bytes(target_bytes: int) -> int:
    """Raw bytes past which an open block is sealed: about one full compressed block of float points.

    Raw float points take 16-32 bytes against 3-6 compressed, so five targets' worth seals into one
    full block plus a remainder.
    """
    return 5 * target_bytes


def open_keep_bytes(target_bytes: int) -> int:
    """Raw bytes of points a write may leave open (more are sealed), half of :func:`open_max_bytes`.

    Sealing leaves at most this much open, so the next seal comes only after at least as much again
    has been appended: sealing cost stays proportional to the points written.
    """
    return open_max_bytes(target_bytes) // 2


def _put_optional(out: bytearray, column: Sequence[Any], typecode: str) -> None:
    present = [v is not None for v in column]
    if not any(present):
        out.append(_NONE)
        return
    if all(present):
        out.append(_ALL)
        out += array(typecode, column).tobytes()
        return
    out.append(_MIXED)
    out += bytes(present)
    zero = 0.0 if typecode == "d" else 0
    out += array(typecode, [zero if v is None else v for v in column]).tobytes()


def _values_bytes(kind: ValueKind, values: Sequence[Value]) -> bytes:
    if kind is ValueKind.FLOAT:
        return array("d", values).tobytes()
    if kind is ValueKind.INT:
        return array("q", values).tobytes()
    if kind is ValueKind.BOOL:
        return bytes(1 if v else 0 for v in values)
    buf = bytearray()
    for v in values:
        encode_object(v, buf)
    return bytes(buf)


def encode_segment(
    kind: ValueKind,
    steps: Sequence[int],
    values: Sequence[Value],
    epochs: Sequence[int | None],
    timestamps: Sequence[float | None],
) -> bytes:
    """Encode one segment; ``values`` must already be of ``kind`` (see :func:`append_kind`)."""
    n = len(steps)
    out = header(SEGMENT_VERSION, kind)
    put_uvarint(out, n)
    put_bytes(out, array("q", steps).tobytes())
    put_bytes(out, _values_bytes(kind, values))
    _put_optional(out, epochs, "q")
    _put_optional(out, timestamps, "d")
    return bytes(out)


def segment_block(block: Block, start: int, stop: int) -> bytes:
    """:func:`encode_segment` of the points ``[start, stop)`` of ``block``."""
    return encode_segment(
        block.kind,
        block.steps[start:stop],
        block.values[start:stop],
        block.epochs[start:stop],
        block.timestamps[start:stop],
    )


def _lanes(raw: bytes, typecode: str) -> array[Any]:
    out: array[Any] = array(typecode)
    out.frombytes(raw)
    return out


def _get_optional(r: ByteReader, n: int, typecode: str) -> Sequence[Any]:
    mode = r.byte()
    if mode == _NONE:
        return [None] * n
    if mode == _ALL:
        return _lanes(r.take(8 * n), typecode)
    if mode == _MIXED:
        present = r.take(n)
        lanes = _lanes(r.take(8 * n), typecode)
        return [v if p else None for p, v in zip(present, lanes, strict=True)]
    raise ValueError(f"unknown open segment column mode {mode}")


def _get_values(kind: ValueKind, raw: bytes, n: int) -> Sequence[Value]:
    if kind is ValueKind.FLOAT or kind is ValueKind.INT:
        if len(raw) != 8 * n:
            raise ValueError("open segment values have the wrong length")
        return _lanes(raw, "d" if kind is ValueKind.FLOAT else "q")
    if kind is ValueKind.BOOL:
        if len(raw) != n:
            raise ValueError("open segment values have the wrong length")
        return list(map(bool, raw))
    r = ByteReader(raw)
    values = [decode_object(r) for _ in range(n)]
    if not r.at_end():
        raise ValueError("trailing bytes after open segment objects")
    return values


def decode_segment(data: bytes) -> Block:
    """Decode one segment into a block."""
    r = ByteReader(data)
    _, kind = read_header(r, (SEGMENT_VERSION,), "open segment")
    n = r.uvarint()
    steps_raw = r.sized()
    if len(steps_raw) != 8 * n:
        raise ValueError("open segment steps have the wrong length")
    steps = _lanes(steps_raw, "q")
    values = _get_values(kind, r.sized(), n)
    epochs = _get_optional(r, n, "q")
    timestamps = _get_optional(r, n, "d")
    if not r.at_end():
        raise ValueError("trailing bytes after open segment")
    return Block(kind, steps, values, epochs, timestamps)


def decode_segments(parts: Sequence[bytes]) -> Block:
    """The open block made of ``parts`` (its segments in key order)."""
    if not parts:
        raise ValueError("an open block needs at least one segment")
    blocks = [decode_segment(p) for p in parts]
    if len(blocks) == 1:
        return blocks[0]
    block = concat_blocks(blocks)
    if any(b.kind is not block.kind for b in blocks) or any(
        a.steps[-1] >= b.steps[0] for a, b in pairwise(blocks)
    ):
        raise ValueError("open block segments are not consecutive runs of one kind")
    return block


def append_kind(kind: ValueKind, points: Sequence[Point]) -> tuple[ValueKind, list[Value]] | None:
    """``kind`` and the values of ``points`` converted to it, if appending them keeps the block's kind.

    None when the merged block would take another kind (ints beyond 2**53 among floats, bools among
    numbers, objects): the caller then rewrites the block, re-inferring its kind over every value.
    """
    values = [p.value for p in points]
    new = infer_kind(values)
    if new is kind:
        return kind, coerce_values(values, kind) if kind is ValueKind.FLOAT else values
    if (
        kind is ValueKind.FLOAT
        and new is ValueKind.INT
        and all(-_FLOAT_INT_LIMIT <= v <= _FLOAT_INT_LIMIT for v in values)
    ):
        return kind, coerce_values(values, kind)
    return None
