"""Chart buckets: aligned power-of-two step ranges, and the first/min/max/last points of each (numpy).

A chart of ``[lo, hi]`` in at most ``b`` buckets uses the smallest power-of-two width ``w`` for which
the buckets ``[k*w, (k+1)*w)`` meeting ``[lo, hi]`` number at most ``b`` (:func:`bucket_width`). Being
aligned, a bucket of width ``w`` is the union of whole buckets of any smaller power-of-two width, so the
points kept for the smaller buckets (each bucket's first, min, max and last) hold every point the wider
bucket keeps: charts are answered exactly from stored summaries of finer buckets (the level-of-detail
rollups of :mod:`matyan_store.sequences.rollup`), and :func:`keep_indices` over those kept points
equals :func:`keep_indices` over every point.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from matyan_store.codec.block import Block
from matyan_store.codec.points import ValueKind

I64 = npt.NDArray[np.int64]


def bucket_count(lo: int, hi: int, width: int) -> int:
    """Aligned buckets of ``width`` meeting ``[lo, hi]``."""
    return hi // width - lo // width + 1


def bucket_width(lo: int, hi: int, buckets: int) -> int:
    """The smallest power of two whose aligned buckets over ``[lo, hi]`` number at most ``buckets``."""
    if buckets < 1:
        raise ValueError("buckets must be positive")
    width = 1
    while bucket_count(lo, hi, width) > buckets:
        width <<= 1
    return width


def steps_array(steps: Sequence[int]) -> I64:
    """A step column as int64 (a ``range`` without materialising a list)."""
    if isinstance(steps, range):
        return np.arange(steps.start, steps.stop, steps.step, dtype=np.int64)
    return np.asarray(steps, dtype=np.int64)


def _numeric(kind: ValueKind, values: Sequence[Any]) -> npt.NDArray[Any]:
    if kind is ValueKind.FLOAT:
        return np.asarray(values, dtype=np.float64)
    if kind is ValueKind.INT:
        return np.asarray(values, dtype=np.int64)
    return np.asarray(values, dtype=np.int8)  # BOOL


def _first_equal(hit: npt.NDArray[np.bool_], starts: I64) -> I64:
    """Per segment starting at ``starts``, the first index where ``hit`` holds (-1: none in it)."""
    where = np.flatnonzero(hit)
    pos = np.searchsorted(where, starts)
    found = np.full(len(starts), -1, dtype=np.int64)
    ok = pos < len(where)
    found[ok] = where[pos[ok]]
    ends = np.append(starts[1:], len(hit))
    found[found >= ends] = -1
    return found


def keep_indices(kind: ValueKind, steps: Sequence[int], values: Sequence[Any], width: int) -> I64:
    """Indices (sorted, unique) of each aligned bucket's first, min, max and last point.

    Min and max ignore NaN (infinities count) and are the earliest point on ties; OBJECT series keep
    first and last only. ``steps`` must be strictly increasing.
    """
    n = len(steps)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    bucket = steps_array(steps) // width
    starts = np.concatenate(([0], np.flatnonzero(bucket[1:] != bucket[:-1]) + 1)).astype(np.int64)
    lasts = np.append(starts[1:], n) - 1
    picked = [starts, lasts]
    if kind.numeric:
        vals = _numeric(kind, values)
        if kind is ValueKind.FLOAT:
            lo = np.fmin.reduceat(vals, starts)
            hi = np.fmax.reduceat(vals, starts)
        else:
            lo = np.minimum.reduceat(vals, starts)
            hi = np.maximum.reduceat(vals, starts)
        sizes = np.diff(np.append(starts, n))
        for extreme in (lo, hi):
            # NaN never equals, so an all-NaN bucket finds nothing (-1) and keeps first and last only.
            found = _first_equal(vals == np.repeat(extreme, sizes), starts)
            picked.append(found[found >= 0])
    return np.unique(np.concatenate(picked))


def take(block: Block, indices: I64, *, with_epochs_timestamps: bool = True) -> Block:
    """The points of ``block`` at ``indices`` (epochs and timestamps None unless asked for)."""
    idx = indices.tolist()
    steps = block.steps
    values = block.values
    out_steps = [steps[i] for i in idx]
    out_values = [values[i] for i in idx]
    if with_epochs_timestamps:
        epochs = block.epochs
        stamps = block.timestamps
        return Block(block.kind, out_steps, out_values, [epochs[i] for i in idx], [stamps[i] for i in idx])
    nones: list[None] = [None] * len(idx)
    return Block(block.kind, out_steps, out_values, nones, nones)


def downsample_block(block: Block, width: int, *, with_epochs_timestamps: bool = True) -> Block:
    """The first/min/max/last points of each aligned ``width`` bucket of an in-memory block."""
    if len(block) == 0:
        return block
    return take(
        block,
        keep_indices(block.kind, block.steps, block.values, width),
        with_epochs_timestamps=with_epochs_timestamps,
    )


__all__ = ["bucket_count", "bucket_width", "downsample_block", "keep_indices", "steps_array", "take"]
