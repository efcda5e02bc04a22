"""Reading a series from its blocks: step ranges, the newest points, and min/max-keeping downsampling.

Every function takes the series' block summaries (sorted by first step, as stored) and a ``load``
callback returning the decoded block for a summary, and loads only the blocks it needs.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Callable, Sequence
from itertools import chain, pairwise
from typing import Any

import numpy as np

from matyan_store.codec.block import Block, Column
from matyan_store.codec.buckets import bucket_width, downsample_block
from matyan_store.codec.points import Point, ValueKind, coerce_values, unify_kinds
from matyan_store.codec.summary import BlockSummary

Loader = Callable[[BlockSummary], Block]


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
    coerce = any(b.kind is not kind for b in blocks)

    def values() -> Column:
        if coerce:
            return coerce_values(list(chain.from_iterable(b.values for b in blocks)), kind)
        return concat_columns([b.values for b in blocks])

    # Each column is joined on first use: a reader of steps and values never decodes the others.
    return Block.lazy(
        kind,
        sum(map(len, blocks)),
        [
            lambda: concat_columns([b.steps for b in blocks]),
            values,
            lambda: concat_columns([b.epochs for b in blocks]),
            lambda: concat_columns([b.timestamps for b in blocks]),
        ],
    )


_INT64_END = 1 << 63


def _typecode(column: Column) -> str | None:
    """``"q"`` or ``"d"`` for int64/float64 arrays (and int ranges within int64), else None."""
    if isinstance(column, array):
        return column.typecode if column.typecode in ("q", "d") else None
    if isinstance(column, range):
        return "q" if column.start >= -_INT64_END and column.stop <= _INT64_END else None
    return None


def _joined_range(ranges: Sequence[range]) -> range | None:
    """Ranges continuing one another with one stride as one range (regular steps stay cheap to bisect)."""
    step = ranges[0].step
    if not all(ranges) or any(r.step != step for r in ranges):
        return None
    if any(b.start != a[-1] + step for a, b in pairwise(ranges)):
        return None
    return range(ranges[0].start, ranges[-1][-1] + step, step)


def concat_columns(columns: Sequence[Column]) -> Column:
    """One column holding ``columns`` end to end.

    Int64 and float64 arrays (and ranges) join into one array without a Python object per item, so a
    full read of a long series stays a few memory copies; other columns join into a list.
    """
    if all(isinstance(c, range) for c in columns):
        joined = _joined_range(columns)  # type: ignore[arg-type]
        if joined is not None:
            return joined
    codes = {_typecode(c) for c in columns}
    code = codes.pop() if len(codes) == 1 else None
    if code is None:
        return list(chain.from_iterable(columns))
    out: array[Any] = array(code)
    for column in columns:
        if isinstance(column, range):
            out.frombytes(np.arange(column.start, column.stop, column.step, dtype=np.int64).tobytes())
        else:
            out.extend(column)
    return out


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

    Buckets are the aligned power-of-two step ranges of :func:`~matyan_store.codec.buckets.bucket_width`
    from the first to the last point in the range (at most ``buckets`` of them). Min and max ignore NaN, so
    spikes are never hidden; points that are several of the four appear once; output is in step order.
    OBJECT series keep the first and last point of each bucket. With ``with_epochs_timestamps=False``
    those columns come back as None.
    """
    if buckets < 1:
        raise ValueError("buckets must be positive")
    sel = overlapping(summaries, start, stop)
    if not sel:
        return empty_block(summaries[0].kind if summaries else ValueKind.FLOAT)
    block = read_range(sel, load, start, stop)
    if len(block) == 0:
        return block
    width = bucket_width(block.steps[0], block.steps[-1], buckets)
    return downsample_block(block, width, with_epochs_timestamps=with_epochs_timestamps)
