"""The series summary after a write, from the old one and the blocks the write replaced and put.

Appends and replays never read more than the write itself touched; only losing an extreme to an
overwrite (or rewriting object blocks) rescans the series' index entries.
"""

from __future__ import annotations

from typing import Any

from matyan_store.codec import BlockSummary, Point, ValueKind, combine_summaries
from matyan_store.codec.points import unify_kinds
from matyan_store.sequences.blocks import SeriesBlocks
from matyan_store.sequences.layout import IndexEntry
from matyan_store.sequences.records import SeriesSummary, kind_name, kind_of
from matyan_store.values import encode_value

LAST_VALUE_MAX_BYTES = 1024
"""Larger last values (objects) are left out of the series summary; :func:`read_last` has them."""


def _same(a: Any, b: Any) -> bool:
    """Identical values for summary purposes (NaN equals NaN, 1 differs from 1.0 and True)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and a != a:
        return bool(b != b)
    same: bool = a == b
    return same


def _last_fields(p: Point) -> tuple[Any, float | None, bool]:
    value = p.value
    if type(value) in (int, float, bool) or value is None:
        return value, p.timestamp, False
    if len(encode_value(value)) > LAST_VALUE_MAX_BYTES:
        return None, p.timestamp, True
    return value, p.timestamp, False


def next_summary(
    ser: SeriesBlocks,
    old: SeriesSummary | None,
    pts: list[Point],
    dtype: str,
    removed: list[IndexEntry],
    put: list[BlockSummary],
) -> SeriesSummary:
    count = sum(s.count for s in put) - sum(e.summary.count for e in removed)
    first, last = pts[0].step, pts[-1].step
    last_value, last_ts, omitted = _last_fields(pts[-1])
    if old is not None:
        count += old.count
        first = min(first, old.first_step)
        if old.last_step > last:
            last, last_value, last_ts, omitted = (
                old.last_step,
                old.last_value,
                old.last_timestamp,
                old.last_value_omitted,
            )
    kind, lo, hi = _next_extremes(ser, old, pts, removed, put)
    return SeriesSummary(
        dtype=dtype,
        count=count,
        first_step=first,
        last_step=last,
        last_value=last_value,
        last_timestamp=last_ts,
        min=None if lo is None else lo.value,
        max=None if hi is None else hi.value,
        min_step=None if lo is None else lo.step,
        max_step=None if hi is None else hi.step,
        value_kind=kind_name(kind),
        last_value_omitted=omitted,
    )


def _next_extremes(
    ser: SeriesBlocks,
    old: SeriesSummary | None,
    pts: list[Point],
    removed: list[IndexEntry],
    put: list[BlockSummary],
) -> tuple[ValueKind, Point | None, Point | None]:
    """Kind, min point and max point after a write, from the old summary and the rewritten blocks.

    The old extreme stays a candidate unless its step was overwritten with another value; losing an
    extreme that way, or rewriting the object blocks of an object series, rescans every index entry
    (rare: a real overwrite, never an append or a replay).
    """
    touched = combine_summaries(put)
    if old is None or old.count == sum(e.summary.count for e in removed):
        if not touched.kind.numeric:  # object blocks among numeric ones: no order for the series
            return touched.kind, None, None
        return touched.kind, touched.min_point, touched.max_point
    old_kind = kind_of(old.value_kind)
    if old_kind is ValueKind.OBJECT and any(e.summary.kind is ValueKind.OBJECT for e in removed):
        return _rescan(ser)
    kind = unify_kinds(old_kind, touched.kind)
    if not kind.numeric:
        return kind, None, None
    new_at = {p.step: p.value for p in pts}
    old_lo = None if old.min_step is None else Point(old.min_step, old.min)
    old_hi = None if old.max_step is None else Point(old.max_step, old.max)
    for p in (old_lo, old_hi):
        if p is not None and p.step in new_at and not _same(new_at[p.step], p.value):
            return _rescan(ser)
    return kind, _better(old_lo, touched.min_point, True), _better(old_hi, touched.max_point, False)


def _better(a: Point | None, b: Point | None, smaller: bool) -> Point | None:
    """The more extreme of two candidate points; the earlier step on ties (what a rescan reports)."""
    if a is None:
        return b
    if b is None:
        return a
    if b.value == a.value:
        return b if b.step < a.step else a
    return b if (b.value < a.value) == smaller else a


def _rescan(ser: SeriesBlocks) -> tuple[ValueKind, Point | None, Point | None]:
    full = combine_summaries([e.summary for e in ser.entries(None, None)])
    if not full.kind.numeric:
        return full.kind, None, None
    return full.kind, full.min_point, full.max_point
