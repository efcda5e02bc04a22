"""Block summaries: what a reader needs to choose blocks (and often answer) without decoding them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from operator import eq

from matyan_store.codec.header import header, read_header
from matyan_store.codec.points import Point, Value, ValueKind
from matyan_store.codec.varint import ByteReader, put_f64, put_svarint, put_uvarint, unzigzag, zigzag

SUMMARY_VERSION = 1

_HAS_EXTREMES = 0x01
_HAS_VALUES = 0x02


@dataclass(frozen=True, slots=True)
class BlockSummary:
    """First/last/min/max points and counts of one block (or, combined, of a whole series).

    ``min_point``/``max_point`` ignore NaN (infinities count) and are None for OBJECT blocks and for
    blocks whose values are all NaN; on ties they are the earliest point. For OBJECT blocks the values
    of ``first``/``last`` are not kept (``values_included`` is False, they read as None) so a summary
    stays small whatever the objects weigh.
    """

    kind: ValueKind
    count: int
    first: Point
    last: Point
    min_point: Point | None
    max_point: Point | None
    nan_count: int = 0
    values_included: bool = True

    @property
    def first_step(self) -> int:
        """Step of the first point."""
        return self.first.step

    @property
    def last_step(self) -> int:
        """Step of the last point."""
        return self.last.step

    @property
    def first_value(self) -> Value:
        """Value of the first point (None when values are not included)."""
        return self.first.value

    @property
    def last_value(self) -> Value:
        """Value of the last point (None when values are not included)."""
        return self.last.value

    @property
    def min(self) -> Value:
        """Smallest non-NaN value, or None."""
        return None if self.min_point is None else self.min_point.value

    @property
    def max(self) -> Value:
        """Largest non-NaN value, or None."""
        return None if self.max_point is None else self.max_point.value


def count_nans(kind: ValueKind, values: Sequence[Value]) -> int:
    """Number of NaN values (only FLOAT blocks can have any)."""
    if kind is not ValueKind.FLOAT:
        return 0
    same: int = sum(map(eq, values, values))
    return len(values) - same


def extreme_indices(kind: ValueKind, values: Sequence[Value], nan_count: int) -> tuple[int, int] | None:
    """Indices of the first minimum and first maximum, ignoring NaN; None when there is no order."""
    if not kind.numeric or not values:
        return None
    if nan_count == 0:
        lo = min(values)
        hi = max(values)
        return values.index(lo), values.index(hi)
    real = [(v, i) for i, v in enumerate(values) if v == v]
    if not real:
        return None
    lo_v = min(v for v, _ in real)
    hi_v = max(v for v, _ in real)
    return next(i for v, i in real if v == lo_v), next(i for v, i in real if v == hi_v)


def summarize(
    kind: ValueKind,
    steps: Sequence[int],
    values: Sequence[Value],
    epochs: Sequence[int | None],
    timestamps: Sequence[float | None],
) -> BlockSummary:
    """Compute the summary of non-empty columns."""
    n = len(steps)
    if n == 0:
        raise ValueError("cannot summarize an empty block")
    keep = kind.numeric

    def point(i: int) -> Point:
        return Point(steps[i], values[i] if keep else None, epochs[i], timestamps[i])

    nans = count_nans(kind, values)
    ext = extreme_indices(kind, values, nans)
    return BlockSummary(
        kind=kind,
        count=n,
        first=point(0),
        last=point(n - 1),
        min_point=None if ext is None else point(ext[0]),
        max_point=None if ext is None else point(ext[1]),
        nan_count=nans,
        values_included=keep,
    )


def combine_summaries(summaries: Sequence[BlockSummary]) -> BlockSummary:
    """Summary of consecutive blocks (sorted by step, non-overlapping), e.g. the per-series summary."""
    if not summaries:
        raise ValueError("no summaries to combine")
    kinds = {s.kind for s in summaries}
    if len(kinds) == 1:
        kind = next(iter(kinds))
    elif kinds <= {ValueKind.INT, ValueKind.FLOAT}:
        kind = ValueKind.FLOAT
    else:
        kind = ValueKind.OBJECT
    lo: Point | None = None
    hi: Point | None = None
    for s in summaries:
        if s.min_point is not None and (lo is None or s.min_point.value < lo.value):
            lo = s.min_point
        if s.max_point is not None and (hi is None or s.max_point.value > hi.value):
            hi = s.max_point
    included = all(s.values_included for s in summaries)
    return BlockSummary(
        kind=kind,
        count=sum(s.count for s in summaries),
        first=summaries[0].first,
        last=summaries[-1].last,
        min_point=lo,
        max_point=hi,
        nan_count=sum(s.nan_count for s in summaries),
        values_included=included,
    )


def _put_value(out: bytearray, kind: ValueKind, v: Value) -> None:
    if kind is ValueKind.FLOAT:
        put_f64(out, v)
    elif kind is ValueKind.INT:
        put_svarint(out, v)
    elif kind is ValueKind.BOOL:
        out.append(1 if v else 0)


def _get_value(r: ByteReader, kind: ValueKind) -> Value:
    if kind is ValueKind.FLOAT:
        return r.f64()
    if kind is ValueKind.INT:
        return r.svarint()
    if kind is ValueKind.BOOL:
        return r.byte() != 0
    return None


def _put_point(out: bytearray, kind: ValueKind, p: Point, base_step: int, with_value: bool) -> None:
    put_uvarint(out, p.step - base_step)
    if with_value:
        _put_value(out, kind, p.value)
    put_uvarint(out, 0 if p.epoch is None else 1 + zigzag(p.epoch))
    if p.timestamp is None:
        out.append(0)
    else:
        out.append(1)
        put_f64(out, p.timestamp)


def _get_point(r: ByteReader, kind: ValueKind, base_step: int, with_value: bool) -> Point:
    step = base_step + r.uvarint()
    value = _get_value(r, kind) if with_value else None
    e = r.uvarint()
    epoch = None if e == 0 else unzigzag(e - 1)
    ts = r.f64() if r.byte() else None
    return Point(step, value, epoch, ts)


def encode_summary(s: BlockSummary) -> bytes:
    """Encode a summary into a small value (tens of bytes)."""
    out = header(SUMMARY_VERSION, s.kind)
    flags = (_HAS_EXTREMES if s.min_point is not None and s.max_point is not None else 0) | (
        _HAS_VALUES if s.values_included else 0
    )
    out.append(flags)
    put_uvarint(out, s.count)
    put_uvarint(out, s.nan_count)
    put_uvarint(out, s.first.step)
    _put_point(out, s.kind, s.first, s.first.step, s.values_included)
    _put_point(out, s.kind, s.last, s.first.step, s.values_included)
    if flags & _HAS_EXTREMES:
        assert s.min_point is not None
        assert s.max_point is not None
        _put_point(out, s.kind, s.min_point, s.first.step, True)
        _put_point(out, s.kind, s.max_point, s.first.step, True)
    return bytes(out)


def decode_summary(data: bytes) -> BlockSummary:
    """Inverse of :func:`encode_summary`."""
    r = ByteReader(data)
    return read_summary(r)


def read_summary(r: ByteReader) -> BlockSummary:
    """Read a summary written by :func:`encode_summary` from a cursor."""
    _, kind = read_header(r, (SUMMARY_VERSION,), "summary")
    flags = r.byte()
    count = r.uvarint()
    nans = r.uvarint()
    base = r.uvarint()
    with_values = bool(flags & _HAS_VALUES)
    first = _get_point(r, kind, base, with_values)
    last = _get_point(r, kind, base, with_values)
    lo = hi = None
    if flags & _HAS_EXTREMES:
        lo = _get_point(r, kind, base, True)
        hi = _get_point(r, kind, base, True)
    return BlockSummary(kind, count, first, last, lo, hi, nans, with_values)
