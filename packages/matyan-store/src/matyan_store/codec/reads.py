"""Reading a series from its blocks: step ranges, the newest points, and min/max-keeping downsampling.

Every function takes the series' block summaries (sorted by first step, as stored) and a ``load``
callback returning the decoded block for a summary, and loads only the blocks it needs.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from itertools import chain
from operator import add
from typing import Any

from matyan_store.codec.block import NO_EXTREME, SKETCH_WINDOW, Block
from matyan_store.codec.points import Point, Value, ValueKind, coerce_values, unify_kinds
from matyan_store.codec.summary import BlockSummary

Loader = Callable[[BlockSummary], Block]

# Internal point representation while downsampling: (step, value, epoch, timestamp).
_Pt = tuple[int, Value, int | None, float | None]


def empty_block(kind: ValueKind = ValueKind.FLOAT) -> Block:
    """A block without points (what reads return when nothing matches)."""
    return Block(kind, [], [], [], [])


def concat_blocks(blocks: Sequence[Block]) -> Block:
    """One block holding the points of consecutive, non-overlapping blocks (in step order)."""
    if not blocks:
        return empty_block()
    if len(blocks) == 1:
        return blocks[0]
    kind = blocks[0].kind
    for b in blocks[1:]:
        kind = unify_kinds(kind, b.kind)
    values = list(chain.from_iterable(b.values for b in blocks))
    return Block(
        kind,
        list(chain.from_iterable(b.steps for b in blocks)),
        coerce_values(values, kind) if any(b.kind is not kind for b in blocks) else values,
        list(chain.from_iterable(b.epochs for b in blocks)),
        list(chain.from_iterable(b.timestamps for b in blocks)),
    )


def overlapping(
    summaries: Sequence[BlockSummary], start: int | None, stop: int | None
) -> Sequence[BlockSummary]:
    """The summaries of blocks holding at least one step in ``[start, stop)``."""
    i = 0
    if start is not None:
        i = bisect_left([s.last_step for s in summaries], start)
    j = len(summaries)
    if stop is not None:
        j = bisect_left([s.first_step for s in summaries], stop)
    return summaries[i:j]


def read_range(
    summaries: Sequence[BlockSummary], load: Loader, start: int | None = None, stop: int | None = None
) -> Block:
    """All points with ``start <= step < stop`` at full resolution."""
    parts = [load(s).slice(start, stop) for s in overlapping(summaries, start, stop)]
    return concat_blocks([p for p in parts if len(p)])


def last_point(summaries: Sequence[BlockSummary], load: Loader) -> Point | None:
    """The point with the highest step (from the summary alone when it carries values)."""
    if not summaries:
        return None
    last = summaries[-1]
    if last.values_included:
        return last.last
    block = load(last)
    return block.point(len(block) - 1)


def tail(summaries: Sequence[BlockSummary], load: Loader, n: int) -> Block:
    """The ``n`` points with the highest steps, in step order."""
    if n <= 0:
        return empty_block(summaries[-1].kind if summaries else ValueKind.FLOAT)
    parts: list[Block] = []
    need = n
    for s in reversed(summaries):
        block = load(s)
        parts.append(block if len(block) <= need else block.take(len(block) - need, len(block)))
        need -= len(parts[-1])
        if need == 0:
            break
    parts.reverse()
    return concat_blocks(parts)


class _Buckets:
    """Accumulates first/min/max/last per bucket and emits them, deduplicated and step-ordered."""

    __slots__ = ("bucket", "epochs", "first", "hi", "kind", "last", "lo", "steps", "timestamps", "values")

    def __init__(self, kind: ValueKind) -> None:
        self.kind = kind
        self.bucket = -1
        self.first: _Pt | None = None
        self.last: _Pt | None = None
        self.lo: _Pt | None = None
        self.hi: _Pt | None = None
        self.steps: list[int] = []
        self.values: list[Value] = []
        self.epochs: list[int | None] = []
        self.timestamps: list[float | None] = []

    def add(self, bucket: int, first: _Pt, lo: _Pt | None, hi: _Pt | None, last: _Pt) -> None:
        if bucket != self.bucket:
            self.flush()
            self.bucket = bucket
            self.first, self.lo, self.hi, self.last = first, lo, hi, last
            return
        self.last = last
        # Strict comparisons keep the earliest point on ties (pieces arrive in step order).
        if lo is not None and (self.lo is None or lo[1] < self.lo[1]):
            self.lo = lo
        if hi is not None and (self.hi is None or hi[1] > self.hi[1]):
            self.hi = hi

    def flush(self) -> None:
        if self.first is None or self.last is None:
            return
        seen: dict[int, _Pt] = {}
        for p in (self.first, self.lo, self.hi, self.last):
            if p is not None:
                seen[p[0]] = p
        for step in sorted(seen):
            p = seen[step]
            self.steps.append(p[0])
            self.values.append(p[1])
            self.epochs.append(p[2])
            self.timestamps.append(p[3])
        self.first = self.last = self.lo = self.hi = None

    def result(self) -> Block:
        self.flush()
        return Block(self.kind, self.steps, self.values, self.epochs, self.timestamps)


class _Extremes:
    """Range min/max queries on one decoded block, using its sketch for whole windows."""

    __slots__ = ("clean", "max_idx", "max_val", "min_idx", "min_val", "values")

    def __init__(self, block: Block, nan_count: int) -> None:
        values = block.values
        self.values = values
        self.clean = nan_count == 0
        self.min_idx: list[int] = []
        self.max_idx: list[int] = []
        self.min_val: list[Any] = []
        self.max_val: list[Any] = []
        if self.clean:
            sketch = block.sketch
            nc = len(sketch) // 2
            starts = range(0, nc * SKETCH_WINDOW, SKETCH_WINDOW)
            self.min_idx = list(map(add, starts, sketch[:nc]))
            self.max_idx = list(map(add, starts, sketch[nc:]))
            self.min_val = list(map(values.__getitem__, self.min_idx))
            self.max_val = list(map(values.__getitem__, self.max_idx))

    def argmin_argmax(self, a: int, b: int) -> tuple[int, int] | None:
        """First indices of the min and max (ignoring NaN) of ``values[a:b]``; None if all NaN."""
        if not self.clean:
            return self._slow(a, b)
        values = self.values
        ca = -(-a // SKETCH_WINDOW)
        cb = b // SKETCH_WINDOW
        if ca >= cb:
            seg = values[a:b]
            return a + seg.index(min(seg)), a + seg.index(max(seg))
        # Left edge, whole windows, right edge: in step order, so strict comparisons keep the earliest.
        lo_i = hi_i = -1
        lo_v: Any = None
        hi_v: Any = None
        left_end = ca * SKETCH_WINDOW
        if a < left_end:
            seg = values[a:left_end]
            lo_v = min(seg)
            hi_v = max(seg)
            lo_i = a + seg.index(lo_v)
            hi_i = a + seg.index(hi_v)
        cmin = self.min_val[ca:cb]
        m = min(cmin)
        if lo_i < 0 or m < lo_v:
            lo_v, lo_i = m, self.min_idx[ca + cmin.index(m)]
        cmax = self.max_val[ca:cb]
        m = max(cmax)
        if hi_i < 0 or m > hi_v:
            hi_v, hi_i = m, self.max_idx[ca + cmax.index(m)]
        right_start = cb * SKETCH_WINDOW
        if right_start < b:
            seg = values[right_start:b]
            m = min(seg)
            if m < lo_v:
                lo_i = right_start + seg.index(m)
            m = max(seg)
            if m > hi_v:
                hi_i = right_start + seg.index(m)
        return lo_i, hi_i

    def _slow(self, a: int, b: int) -> tuple[int, int] | None:
        lo_i = hi_i = -1
        lo_v: Any = None
        hi_v: Any = None
        values = self.values
        for i in range(a, b):
            v = values[i]
            if v != v:
                continue
            if lo_i < 0 or v < lo_v:
                lo_v, lo_i = v, i
            if hi_i < 0 or v > hi_v:
                hi_v, hi_i = v, i
        return None if lo_i < 0 else (lo_i, hi_i)


# The sketch stores NO_EXTREME only for all-NaN windows, which the clean path never sees.
assert NO_EXTREME >= SKETCH_WINDOW


def _summary_pt(p: Point) -> _Pt:
    return (p.step, p.value, p.epoch, p.timestamp)


def downsample(
    summaries: Sequence[BlockSummary],
    load: Loader,
    buckets: int,
    start: int | None = None,
    stop: int | None = None,
    *,
    with_epochs_timestamps: bool = True,
) -> Block:
    """At most four real points per bucket over ``[start, stop)``: the first, min, max and last.

    The step range (clipped to the series) is cut into at most ``buckets`` buckets of equal step width.
    Min and max ignore NaN, so spikes are never hidden; points that are several of the four appear
    once; output is in step order. OBJECT series keep the first and last point of each bucket. Blocks
    lying inside a single bucket are answered from their summary without being loaded. With
    ``with_epochs_timestamps=False`` those columns come back as None and are never decoded.
    """
    if buckets < 1:
        raise ValueError("buckets must be positive")
    sel = overlapping(summaries, start, stop)
    if not sel:
        return empty_block(summaries[0].kind if summaries else ValueKind.FLOAT)
    lo = sel[0].first_step if start is None else max(start, sel[0].first_step)
    hi = sel[-1].last_step if stop is None else min(stop - 1, sel[-1].last_step)
    if hi < lo:  # an empty range (start >= stop) still overlaps a block's summary bounds
        return empty_block(sel[0].kind)
    width = -(-(hi - lo + 1) // buckets)
    kind = sel[0].kind
    for s in sel[1:]:
        kind = unify_kinds(kind, s.kind)
    acc = _Buckets(kind)
    for s in sel:
        b_first = (s.first_step - lo) // width
        if (
            s.values_included
            and s.first_step >= lo
            and s.last_step <= hi
            and b_first == (s.last_step - lo) // width
        ):
            acc.add(
                b_first,
                _summary_pt(s.first),
                None if s.min_point is None else _summary_pt(s.min_point),
                None if s.max_point is None else _summary_pt(s.max_point),
                _summary_pt(s.last),
            )
            continue
        _downsample_block(acc, load(s), s.nan_count, lo, hi, width, with_epochs_timestamps)
    result = acc.result()
    if kind is not ValueKind.OBJECT and any(s.kind is not kind for s in sel):
        return Block(kind, result.steps, coerce_values(result.values, kind), result.epochs, result.timestamps)
    return result


def _downsample_block(
    acc: _Buckets, block: Block, nan_count: int, lo: int, hi: int, width: int, full: bool
) -> None:
    steps = block.steps
    values = block.values
    n = len(block)
    nones: list[None] = [None] * n if not full else []
    epochs: Sequence[int | None] = block.epochs if full else nones
    timestamps: Sequence[float | None] = block.timestamps if full else nones
    ext = _Extremes(block, nan_count) if block.kind.numeric else None
    i = bisect_left(steps, lo)
    end = bisect_right(steps, hi)
    while i < end:
        bucket = (steps[i] - lo) // width
        j = bisect_left(steps, lo + (bucket + 1) * width, i, end)
        last = j - 1
        first_pt = (steps[i], values[i], epochs[i], timestamps[i])
        last_pt = (steps[last], values[last], epochs[last], timestamps[last])
        lo_pt: _Pt | None = None
        hi_pt: _Pt | None = None
        found = ext.argmin_argmax(i, j) if ext is not None else None
        if found is not None:
            a, b = found
            lo_pt = (steps[a], values[a], epochs[a], timestamps[a])
            hi_pt = (steps[b], values[b], epochs[b], timestamps[b])
        acc.add(bucket, first_pt, lo_pt, hi_pt, last_pt)
        i = j
