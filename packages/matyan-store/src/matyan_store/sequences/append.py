"""Writing points into a series: the open tail block for appends, merging and sealing otherwise.

Every function takes a transaction and never opens one, so callers (the ingest-worker, the API) put
as much in one transaction as they like. A write reads the series summary, one or a few index entries
(appends: exactly one, the tail block's) and the bodies of the blocks that receive points, each once,
and writes each new block once, with its index entry and rollup (:mod:`matyan_store.sequences.rollup`).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

from matyan_store.codec import (
    DEFAULT_MAX_POINTS,
    MAX_VALUE_BYTES,
    Block,
    BlockSummary,
    EncodedBlock,
    Point,
    ValueKind,
    combine_summaries,
    merge_block,
    normalize_point,
    owner_index,
    split_block,
    split_into_parts,
)
from matyan_store.engine.base import Transaction
from matyan_store.engine.errors import TransactionTooLarge
from matyan_store.keys import pack
from matyan_store.sequences import layout
from matyan_store.sequences.blocks import SeriesBlocks
from matyan_store.sequences.layout import IndexEntry, encode_index_entry, encode_open_index_entry
from matyan_store.sequences.open_block import (
    MAX_SEGMENTS,
    append_kind,
    encode_segment,
    open_keep_bytes,
    open_max_bytes,
    segment_block,
)
from matyan_store.sequences.records import SeriesKey, SeriesSummary, encode_record, get_summary
from matyan_store.sequences.rollup import build_rollup, extend_open_rollup, open_rollup
from matyan_store.sequences.summary_upkeep import next_summary

BLOCK_TARGET_BYTES = 12_200
"""Encoded block size the planner cuts at.

Just under three 4 KiB pages: LMDB stores values over ~2 KB in whole overflow pages (the first one
carries a 16-byte header), so blocks of up to 12,272 bytes waste little, where 10 KB blocks would leave
a fifth of their third page empty. Far under FoundationDB's 100 KB value limit either way.
"""


class PointTooLarge(TransactionTooLarge):
    """One point's stored block is larger than a whole transaction may be; it can never be written."""


class Unread:
    """Type of :data:`UNREAD`, the default of ``write_points(summary=...)``: read it from the store."""


UNREAD = Unread()


def _sorted_unique(points: Sequence[Point | tuple[Any, ...]]) -> list[Point]:
    pts = [normalize_point(p) for p in points]
    if all(a.step < b.step for a, b in pairwise(pts)):
        return pts
    by_step = {p.step: p for p in pts}  # the last point of a repeated step wins
    return [by_step[s] for s in sorted(by_step)]


def write_points(
    tr: Transaction,
    key: SeriesKey,
    points: Sequence[Point | tuple[Any, ...]],
    dtype: str,
    *,
    summary: SeriesSummary | Unread | None = UNREAD,
) -> SeriesSummary:
    """Write ``points`` (any order; a step given twice keeps its last point) and return the new summary.

    This keeps the series only: the run's indexes and the params catalogue follow through
    :func:`matyan_store.runs.write_run_series`, the writer ingestion and restores use.

    A step already stored is overwritten, so writing the same batch twice changes nothing. Each block
    receiving points is loaded once and each resulting block written once. A point whose block is larger
    than one value is stored across several keys; one larger than a whole transaction raises
    :class:`PointTooLarge` (a :class:`TransactionTooLarge` naming the limit).

    ``summary``: the series' current summary (None: no points yet) when the caller has just read it with
    :func:`get_summary` in this transaction, so it is not read again.

    Appends after the last step usually land in the series' open tail block (see
    :mod:`matyan_store.sequences.open_block`): one new raw segment and two small records, no block
    decoded or encoded; every few thousand points the open block is sealed into compressed blocks.
    """
    pts = _sorted_unique(points)
    old = get_summary(tr, key) if isinstance(summary, Unread) else summary
    if not pts:
        if old is None:
            raise ValueError(f"no points to write to new series {key}")
        return old
    ser = SeriesBlocks(tr, key)
    lo, hi = pts[0].step, pts[-1].step
    if old is not None and lo > old.last_step:
        # Appending: only the tail block (the owner of lo) can change; no forward read needed.
        found = ser.owner(lo)
        entries = [] if found is None else [found[1]]
        if found is not None and found[1].open:
            done = _append_open(tr, ser, found[1], pts)
            if done is not None:
                new = next_summary(ser, old, pts, dtype, [found[1]], [done])
                tr.set(ser.summary_key, encode_record(new))
                return new
    else:
        entries = ser.entries(lo, hi)
    removed, sealed, open_tail = _rewrite(ser, old, entries, pts)
    put_summaries = _store_blocks(tr, ser, removed, sealed, open_tail)
    new = next_summary(ser, old, pts, dtype, removed, put_summaries)
    tr.set(ser.summary_key, encode_record(new))
    return new


def _append_open(
    tr: Transaction, ser: SeriesBlocks, entry: IndexEntry, pts: list[Point]
) -> BlockSummary | None:
    """Append ``pts`` (all after the block) to the open block of ``entry`` as new segments.

    Returns the block's new summary, or None when the block must be rewritten instead: the points would
    change its value kind, or it would outgrow :func:`open_max_bytes` or :data:`MAX_SEGMENTS`.
    """
    s = entry.summary
    if s.count + len(pts) > DEFAULT_MAX_POINTS:
        return None
    converted = append_kind(s.kind, pts)
    if converted is None:
        return None
    kind, values = converted
    steps = [p.step for p in pts]
    epochs = [p.epoch for p in pts]
    stamps = [p.timestamp for p in pts]
    segments = _segments(kind, steps, values, epochs, stamps)
    raw = entry.raw_bytes + sum(map(len, segments))
    if raw > open_max_bytes(BLOCK_TARGET_BYTES) or entry.parts + len(segments) > MAX_SEGMENTS:
        return None
    appended = Block(kind, steps, values, epochs, stamps)
    rollup = extend_open_rollup(entry.rollup, appended)
    if rollup is None:
        return None
    first = entry.first_step
    body = ser.body_key(first)
    for i, seg in enumerate(segments, entry.parts):
        tr.set(body + layout.pack_step(i), seg)
    summary = combine_summaries([s, appended.summary])
    tr.set(ser.index_key(first), encode_open_index_entry(summary, entry.parts + len(segments), raw, rollup))
    return summary


def _segments(
    kind: ValueKind,
    steps: Sequence[int],
    values: Sequence[Any],
    epochs: Sequence[int | None],
    stamps: Sequence[float | None],
) -> list[bytes]:
    """Raw segments of the given columns, each about :data:`BLOCK_TARGET_BYTES` at most."""
    whole = encode_segment(kind, steps, values, epochs, stamps)
    n = len(steps)
    if len(whole) <= BLOCK_TARGET_BYTES or n == 1:
        return [whole]
    # Cut by the average point size (exact for numeric columns, close enough for objects), leaving
    # room for each segment's header.
    per = max(1, (BLOCK_TARGET_BYTES - 64) * n // len(whole))
    return [
        encode_segment(
            kind, steps[a : a + per], values[a : a + per], epochs[a : a + per], stamps[a : a + per]
        )
        for a in range(0, n, per)
    ]


def _rewrite(
    ser: SeriesBlocks, old: SeriesSummary | None, entries: list[IndexEntry], pts: list[Point]
) -> tuple[list[IndexEntry], list[EncodedBlock], Block | None]:
    """Merge ``pts`` into the blocks of ``entries`` (each loaded once); return what replaces them.

    Returns the entries to remove, the sealed blocks to write and the new open tail block, if any. Only
    the series' last block may stay open; the others are split into compressed blocks as always.
    """
    if not entries:
        sealed, rest = _layout_tail(merge_block(None, pts))
        return [], sealed, rest
    firsts = [e.first_step for e in entries]
    groups: dict[int, list[Point]] = {}
    for p in pts:
        groups.setdefault(owner_index(firsts, p.step), []).append(p)
    removed: list[IndexEntry] = []
    sealed = []
    rest = None
    for i in sorted(groups):
        e = entries[i]
        removed.append(e)
        merged = merge_block(ser.load(e), groups[i])
        if old is None or e.summary.last_step >= old.last_step:
            tail_sealed, rest = _layout_tail(merged)
            sealed.extend(tail_sealed)
        else:
            sealed.extend(split_block(merged, target_bytes=BLOCK_TARGET_BYTES))
    return removed, sealed, rest


def _layout_tail(block: Block) -> tuple[list[EncodedBlock], Block | None]:
    """Split the series' last block into full sealed blocks and an open remainder (None: all sealed).

    A block whose raw size is within :func:`open_max_bytes` stays open whole (the same bound appends
    grow it to). A larger one is sealed from the front, block by block, until what is left fits
    :func:`open_keep_bytes`; a lone short block that still does not is sealed as well.
    """
    target = BLOCK_TARGET_BYTES
    keep = open_keep_bytes(target)
    n = len(block)
    if n <= DEFAULT_MAX_POINTS:
        raw = len(segment_block(block, 0, n))
        if raw <= open_max_bytes(target):
            return [], block
    else:
        raw = len(segment_block(block, 0, DEFAULT_MAX_POINTS)) * n // DEFAULT_MAX_POINTS
    per_point = raw / n
    sealed = split_block(
        block, target_bytes=target, max_points=DEFAULT_MAX_POINTS, leave=lambda left: left * per_point <= keep
    )
    start = sum(len(eb.block) for eb in sealed)
    if start >= n:
        return sealed, None
    return sealed, block.take(start, n)


def _store_blocks(
    tr: Transaction,
    ser: SeriesBlocks,
    removed: list[IndexEntry],
    sealed: list[EncodedBlock],
    open_tail: Block | None,
) -> list[BlockSummary]:
    """Clear the removed blocks' keys, write the new ones; return the new blocks' summaries."""
    key = ser.key
    single = {eb.first_step for eb in sealed if len(eb.data) <= MAX_VALUE_BYTES}
    indexed = {eb.first_step for eb in sealed}
    if open_tail is not None:
        single.add(open_tail.first_step)
        indexed.add(open_tail.first_step)
    for e in removed:
        first = e.first_step
        if first not in indexed:
            tr.clear(ser.index_key(first))
        body = ser.body_key(first)
        if e.parts > 1:
            tr.clear_range(body + b"\x00", body + b"\xff")
        if first not in single and (e.parts == 1 or e.open):
            tr.clear(body)
    limit = tr.approximate_size + tr.remaining_size
    put_summaries: list[BlockSummary] = []
    for eb in sealed:
        first = eb.first_step
        body = ser.body_key(first)
        data = eb.data
        if len(data) + len(body) > limit:
            raise PointTooLarge(
                len(data),
                limit,
                f"the block of step {first} of series {key.run_id}/{key.context_id}/{key.name!r} "
                "cannot fit in one transaction",
            )
        if len(data) <= MAX_VALUE_BYTES:
            n_parts = 1
            tr.set(body, data)
        else:
            parts = split_into_parts(data, MAX_VALUE_BYTES)
            n_parts = len(parts)
            for i, part in enumerate(parts):
                tr.set(body + pack((i,)), part)
        summary = eb.summary
        put_summaries.append(summary)
        tr.set(ser.index_key(first), encode_index_entry(summary, n_parts, build_rollup(eb.block)))
    if open_tail is not None:
        first = open_tail.first_step
        body = ser.body_key(first)
        segments = _segments(
            open_tail.kind, open_tail.steps, open_tail.values, open_tail.epochs, open_tail.timestamps
        )
        for i, seg in enumerate(segments):
            tr.set(body if i == 0 else body + layout.pack_step(i), seg)
        summary = open_tail.summary
        put_summaries.append(summary)
        tr.set(
            ser.index_key(first),
            encode_open_index_entry(summary, len(segments), sum(map(len, segments)), open_rollup(open_tail)),
        )
    return put_summaries
