"""Reading a series: step ranges at full resolution, charts, the newest points.

A read picks blocks from index entries (small keys, one range read) and loads only the bodies it
needs; charts wide enough for the rollups load none but the blocks cut by the range's bounds.
"""

from __future__ import annotations

from collections.abc import Sequence

from matyan_store.codec import Block, Point, downsample, empty_block
from matyan_store.codec import read_range as codec_read_range
from matyan_store.codec import tail as codec_tail
from matyan_store.engine.base import ReadTransaction
from matyan_store.sequences.blocks import SeriesBlocks
from matyan_store.sequences.layout import IndexEntry, decode_index_entry
from matyan_store.sequences.records import SeriesKey
from matyan_store.sequences.rollup import rollup_downsample


def read_range(
    tr: ReadTransaction, key: SeriesKey, start: int | None = None, stop: int | None = None
) -> Block:
    """Every point with ``start <= step < stop`` at full resolution (an empty block if none)."""
    if stop is not None and start is not None and stop <= start:
        return empty_block()
    ser = SeriesBlocks(tr, key)
    entries = ser.entries(start, None if stop is None else stop - 1)
    return _range_of(ser, entries, start, stop)


def _range_of(ser: SeriesBlocks, entries: list[IndexEntry], start: int | None, stop: int | None) -> Block:
    by_first = {e.first_step: e for e in entries}
    return codec_read_range(
        [e.summary for e in entries], lambda s: ser.load(by_first[s.first_step]), start, stop
    )


def read_downsampled(
    tr: ReadTransaction,
    key: SeriesKey,
    buckets: int,
    start: int | None = None,
    stop: int | None = None,
    *,
    with_epochs_timestamps: bool = True,
) -> Block:
    """A chart of ``[start, stop)`` in at most ``buckets`` buckets, keeping each bucket's first/min/max/last.

    Buckets are aligned power-of-two step ranges (:mod:`matyan_store.codec.buckets`); min and max ignore
    NaN, so a spike is never hidden. Wide charts are answered from the index entries' rollups (see
    :mod:`matyan_store.sequences.rollup`) without loading block bodies; zoomed-in ranges are resampled
    at full resolution. Either way the answer is the same. ``with_epochs_timestamps=False`` leaves those
    columns None.
    """
    if buckets < 1:
        raise ValueError("buckets must be positive")
    if stop is not None and start is not None and stop <= start:
        return empty_block()
    ser = SeriesBlocks(tr, key)
    entries = ser.entries(start, None if stop is None else stop - 1)
    # Trim entries entirely outside the range (the owner of start may end before it).
    entries = [
        e
        for e in entries
        if (start is None or e.summary.last_step >= start) and (stop is None or e.first_step < stop)
    ]
    fast = rollup_downsample(
        entries,
        ser.load,
        buckets,
        start,
        stop,
        with_epochs_timestamps=with_epochs_timestamps,
    )
    if fast is not None:
        return fast
    by_first = {e.first_step: e for e in entries}
    return downsample(
        [e.summary for e in entries],
        lambda s: ser.load(by_first[s.first_step]),
        buckets,
        start,
        stop,
        with_epochs_timestamps=with_epochs_timestamps,
    )


def read_tail(tr: ReadTransaction, key: SeriesKey, n: int) -> Block:
    """The ``n`` points with the highest steps, in step order."""
    if n <= 0:
        return empty_block()
    ser = SeriesBlocks(tr, key)
    picked: list[IndexEntry] = []
    have = 0
    for _, v in tr.get_range(ser.base + b"\x00", ser.base + b"\xff", reverse=True):
        entry = decode_index_entry(v)
        picked.append(entry)
        have += entry.summary.count
        if have >= n:
            break
    picked.reverse()
    by_first = {e.first_step: e for e in picked}
    return codec_tail([e.summary for e in picked], lambda s: ser.load(by_first[s.first_step]), n)


def read_last(tr: ReadTransaction, key: SeriesKey) -> Point | None:
    """The point with the highest step, or None for an empty series."""
    ser = SeriesBlocks(tr, key)
    for _, v in tr.get_range(ser.base + b"\x00", ser.base + b"\xff", limit=1, reverse=True):
        entry = decode_index_entry(v)
        if entry.summary.values_included:
            return entry.summary.last
        block = ser.load(entry)
        return block.point(len(block) - 1)
    return None


def read_many(
    tr: ReadTransaction,
    keys: Sequence[SeriesKey],
    buckets: int | None,
    start: int | None = None,
    stop: int | None = None,
    *,
    with_epochs_timestamps: bool = True,
) -> dict[SeriesKey, Block]:
    """Several series in one transaction: downsampled to ``buckets`` or, with None, at full resolution.

    Series without points map to empty blocks; repeated keys are read once.
    """
    out: dict[SeriesKey, Block] = {}
    for key in keys:
        if key in out:
            continue
        if buckets is None:
            out[key] = read_range(tr, key, start, stop)
        else:
            out[key] = read_downsampled(
                tr, key, buckets, start, stop, with_epochs_timestamps=with_epochs_timestamps
            )
    return out
