"""Stored series: writing points into blocks, keeping summaries current, and reading ranges and charts.

Every function takes a transaction and never opens one, so callers (the ingest-worker, the API) put
as much in one transaction as they like. The key layout is in :mod:`matyan_store.sequences.layout`;
the block format and the write planner are the pure codec of :mod:`matyan_store.codec`.

Costs: a write reads the series summary, one or a few index entries (appends: exactly one, the tail
block's) and the bodies of the blocks that receive points, each once, and writes each new block once.
A read picks blocks from index entries (small keys) and loads only the bodies it needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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
    decode_block,
    downsample,
    empty_block,
    encode_block_columns,
    join_parts,
    merge_block,
    normalize_point,
    owner_index,
    split_block,
    split_into_parts,
)
from matyan_store.codec import read_range as codec_read_range
from matyan_store.codec import tail as codec_tail
from matyan_store.codec.points import unify_kinds
from matyan_store.engine.base import ReadTransaction, Transaction
from matyan_store.engine.errors import TransactionTooLarge
from matyan_store.keys import pack, strinc, unpack
from matyan_store.sequences import layout
from matyan_store.sequences.layout import (
    IndexEntry,
    decode_index_entry,
    encode_index_entry,
    encode_open_index_entry,
)
from matyan_store.sequences.open_block import (
    MAX_SEGMENTS,
    append_kind,
    decode_segments,
    encode_segment,
    open_keep_bytes,
    open_max_bytes,
    segment_block,
)
from matyan_store.sequences.rollup import build_rollup, extend_open_rollup, open_rollup, rollup_downsample
from matyan_store.values import decode_value, encode_value

BLOCK_TARGET_BYTES = 12_200
"""Encoded block size the planner cuts at.

Just under three 4 KiB pages: LMDB stores values over ~2 KB in whole overflow pages (the first one
carries a 16-byte header), so blocks of up to 12,272 bytes waste little, where 10 KB blocks would leave
a fifth of their third page empty. Far under FoundationDB's 100 KB value limit either way.
"""

_FILL = 0.97
"""Sealing cuts a little under the target (as the codec's splitter does) to avoid a re-encode."""

LAST_VALUE_MAX_BYTES = 1024
"""Larger last values (objects) are left out of the series summary; :func:`read_last` has them."""

_RECORD_VERSION = 1


class PointTooLarge(TransactionTooLarge):
    """One point's stored block is larger than a whole transaction may be; it can never be written."""


@dataclass(frozen=True, slots=True)
class SeriesKey:
    """A series: a run, a context id and a name."""

    run_id: str
    context_id: int
    name: str


@dataclass(frozen=True, slots=True)
class SeriesSummary:
    """Per-series summary ("trace info"), kept up to date on every write.

    ``dtype`` is what the last writer said (``"float"``, ``"logs"``, ``"image"``, ...); ``value_kind``
    is how the values are actually stored (``"float"``, ``"int"``, ``"bool"``, ``"object"``). ``min``/
    ``max`` (and the steps holding them, earliest on ties) ignore NaN and are None for object series.
    ``last_value`` is None with ``last_value_omitted`` when the last value is an object too large to
    keep here (over :data:`LAST_VALUE_MAX_BYTES` encoded); :func:`read_last` returns it.
    """

    dtype: str
    count: int
    first_step: int
    last_step: int
    last_value: Any
    last_timestamp: float | None
    min: float | None
    max: float | None
    min_step: int | None = None
    max_step: int | None = None
    value_kind: str = "float"
    last_value_omitted: bool = False


@dataclass(frozen=True, slots=True)
class SeriesWrite:
    """Points were written to series ``key``: its summary went from ``old`` (None: a new series) to ``new``.

    What the run-level writer hands to :func:`matyan_store.upkeep.apply` after :func:`write_points`.
    """

    key: SeriesKey
    old: SeriesSummary | None
    new: SeriesSummary


# --- summary records ---------------------------------------------------------------------------------


def _kind_name(kind: ValueKind) -> str:
    return kind.name.lower()


def _kind_of(name: str) -> ValueKind:
    return ValueKind[name.upper()]


def _encode_record(s: SeriesSummary) -> bytes:
    return encode_value(
        [
            _RECORD_VERSION,
            s.dtype,
            s.value_kind,
            s.count,
            s.first_step,
            s.last_step,
            s.last_value,
            s.last_timestamp,
            s.last_value_omitted,
            s.min,
            s.min_step,
            s.max,
            s.max_step,
        ]
    )


def _decode_record(data: bytes) -> SeriesSummary:
    rec = decode_value(data)
    if not isinstance(rec, list) or not rec or rec[0] != _RECORD_VERSION:
        raise ValueError("unsupported series summary record")
    (_, dtype, kind, count, first, last, last_value, last_ts, omitted, lo, lo_step, hi, hi_step) = rec
    return SeriesSummary(
        dtype=dtype,
        count=count,
        first_step=first,
        last_step=last,
        last_value=last_value,
        last_timestamp=last_ts,
        min=lo,
        max=hi,
        min_step=lo_step,
        max_step=hi_step,
        value_kind=kind,
        last_value_omitted=omitted,
    )


def get_summary(tr: ReadTransaction, key: SeriesKey) -> SeriesSummary | None:
    """The series' summary, or None if it has no points."""
    data = tr.get(layout.series_prefixes(key.run_id, key.context_id, key.name).summary)
    return None if data is None else _decode_record(data)


def next_step(tr: ReadTransaction, key: SeriesKey) -> int:
    """The step after the series' last step; 0 for a new series (what auto-assigned steps use)."""
    s = get_summary(tr, key)
    return 0 if s is None else s.last_step + 1


def list_run_series(tr: ReadTransaction, run_id: str) -> list[tuple[SeriesKey, SeriesSummary]]:
    """Every series of a run with its summary, ordered by (context id, name). One range read."""
    begin, end = layout.summaries_range(run_id)
    prefix_len = len(layout.run_prefix(run_id))
    out: list[tuple[SeriesKey, SeriesSummary]] = []
    for k, v in tr.get_range(begin, end):
        _, ctx, name = unpack(k[prefix_len:])
        out.append((SeriesKey(run_id, ctx, name), _decode_record(v)))
    return out


# --- index and bodies --------------------------------------------------------------------------------

# Steps are ints in [0, 2**64): what a step key can hold (layout.pack_step).
_STEP_LIMIT = 1 << 64


class _Series:
    """Key helpers of one series inside one transaction."""

    __slots__ = ("base", "body_base", "key", "summary_key", "tr")

    def __init__(self, tr: ReadTransaction, key: SeriesKey) -> None:
        self.tr = tr
        self.key = key
        prefixes = layout.series_prefixes(key.run_id, key.context_id, key.name)
        self.base = prefixes.index
        self.body_base = prefixes.body
        self.summary_key = prefixes.summary

    def index_key(self, step: int) -> bytes:
        return self.base + layout.pack_step(step)

    def body_key(self, step: int) -> bytes:
        return self.body_base + layout.pack_step(step)

    def owner(self, step: int) -> tuple[bytes, IndexEntry] | None:
        """The entry of the block owning ``step`` (the last one starting at or before it), if any."""
        end = self.base + b"\xff" if step + 1 >= _STEP_LIMIT else self.index_key(step + 1)
        for k, v in self.tr.get_range(self.base + b"\x00", end, limit=1, reverse=True):
            return k, decode_index_entry(v)
        return None

    def entries(self, lo: int | None, hi: int | None) -> list[IndexEntry]:
        """Entries of the blocks that may hold steps in ``[lo, hi]`` (either bound None: open).

        The bounds may be any ints (they come from clients): outside the step domain they are open.
        """
        if (lo is not None and lo >= _STEP_LIMIT) or (hi is not None and hi < 0):
            return []
        lo = None if lo is None or lo <= 0 else lo
        hi = None if hi is None or hi >= _STEP_LIMIT - 1 else hi
        begin = self.base + b"\x00"
        out: list[IndexEntry] = []
        if lo is not None:
            found = self.owner(lo)
            if found is not None:
                out.append(found[1])
                begin = found[0] + b"\x00"
        end = self.base + b"\xff" if hi is None else self.index_key(hi + 1)
        if begin < end:
            out.extend(decode_index_entry(v) for _, v in self.tr.get_range(begin, end))
        return out

    def load(self, entry: IndexEntry) -> Block:
        """Decode the body of the block of ``entry`` (an open block's raw segments, or a sealed block)."""
        first = entry.first_step
        key = self.body_key(first)
        if entry.open:
            # Segment 0 is the body key itself, segment i >= 1 the part key i: one get or one range.
            if entry.parts == 1:
                data = self.tr.get(key)
                parts = [] if data is None else [data]
            else:
                parts = [v for _, v in self.tr.get_range(key, key + b"\xff")]
            if len(parts) != entry.parts:
                raise ValueError(
                    f"series {self.key} open block at step {first} has {len(parts)} of {entry.parts} segments"
                )
            return decode_segments(parts)
        if entry.parts == 1:
            data = self.tr.get(key)
            if data is None:
                raise ValueError(f"series {self.key} lost the body of its block at step {first}")
        else:
            parts = [v for _, v in self.tr.get_range(key + b"\x00", key + b"\xff")]
            if len(parts) != entry.parts:
                raise ValueError(
                    f"series {self.key} block at step {first} has {len(parts)} of {entry.parts} parts"
                )
            data = join_parts(parts)
        return decode_block(data)


# --- writing -----------------------------------------------------------------------------------------


class Unread:
    """Type of :data:`UNREAD`, the default of ``write_points(summary=...)``: read it from the store."""


UNREAD = Unread()


def _sorted_unique(points: Sequence[Point | tuple[Any, ...]]) -> list[Point]:
    pts = [normalize_point(p) for p in points]
    if all(a.step < b.step for a, b in pairwise(pts)):
        return pts
    by_step = {p.step: p for p in pts}  # the last point of a repeated step wins
    return [by_step[s] for s in sorted(by_step)]


def _same(a: Any, b: Any) -> bool:
    """Identical values for summary purposes (NaN equals NaN, 1 differs from 1.0 and True)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and a != a:
        return bool(b != b)
    same: bool = a == b
    return same


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
    ser = _Series(tr, key)
    lo, hi = pts[0].step, pts[-1].step
    if old is not None and lo > old.last_step:
        # Appending: only the tail block (the owner of lo) can change; no forward read needed.
        found = ser.owner(lo)
        entries = [] if found is None else [found[1]]
        if found is not None and found[1].open:
            done = _append_open(tr, ser, found[1], pts)
            if done is not None:
                new = _next_summary(ser, old, pts, dtype, [found[1]], [done])
                tr.set(ser.summary_key, _encode_record(new))
                return new
    else:
        entries = ser.entries(lo, hi)
    removed, sealed, open_tail = _rewrite(ser, old, entries, pts)
    put_summaries = _store_blocks(tr, ser, removed, sealed, open_tail)
    new = _next_summary(ser, old, pts, dtype, removed, put_summaries)
    tr.set(ser.summary_key, _encode_record(new))
    return new


def _append_open(tr: Transaction, ser: _Series, entry: IndexEntry, pts: list[Point]) -> BlockSummary | None:
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
    ser: _Series, old: SeriesSummary | None, entries: list[IndexEntry], pts: list[Point]
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
    sealed: list[EncodedBlock] = []
    start = 0
    bytes_per_point: float | None = None
    while start < n and (n - start) * per_point > keep:
        take = min(n - start, DEFAULT_MAX_POINTS)
        if bytes_per_point is not None:
            take = max(1, min(take, int(target * _FILL / bytes_per_point)))
        while True:
            part = block if take == n else block.take(start, start + take)
            data = encode_block_columns(part)
            if len(data) <= target or take == 1:
                break
            take = max(1, min(take - 1, int(take * target * _FILL / len(data))))
        bytes_per_point = len(data) / take
        sealed.append(EncodedBlock(part, data))
        start += take
    if start >= n:
        return sealed, None
    return sealed, block.take(start, n)


def _store_blocks(
    tr: Transaction,
    ser: _Series,
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


def _last_fields(p: Point) -> tuple[Any, float | None, bool]:
    value = p.value
    if type(value) in (int, float, bool) or value is None:
        return value, p.timestamp, False
    if len(encode_value(value)) > LAST_VALUE_MAX_BYTES:
        return None, p.timestamp, True
    return value, p.timestamp, False


def _next_summary(
    ser: _Series,
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
        value_kind=_kind_name(kind),
        last_value_omitted=omitted,
    )


def _next_extremes(
    ser: _Series,
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
    old_kind = _kind_of(old.value_kind)
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


def _rescan(ser: _Series) -> tuple[ValueKind, Point | None, Point | None]:
    full = combine_summaries([e.summary for e in ser.entries(None, None)])
    if not full.kind.numeric:
        return full.kind, None, None
    return full.kind, full.min_point, full.max_point


# --- reading -----------------------------------------------------------------------------------------


def read_range(
    tr: ReadTransaction, key: SeriesKey, start: int | None = None, stop: int | None = None
) -> Block:
    """Every point with ``start <= step < stop`` at full resolution (an empty block if none)."""
    if stop is not None and start is not None and stop <= start:
        return empty_block()
    ser = _Series(tr, key)
    entries = ser.entries(start, None if stop is None else stop - 1)
    return _range_of(ser, entries, start, stop)


def _range_of(ser: _Series, entries: list[IndexEntry], start: int | None, stop: int | None) -> Block:
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
    ser = _Series(tr, key)
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
    ser = _Series(tr, key)
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
    ser = _Series(tr, key)
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


# --- deleting ----------------------------------------------------------------------------------------


def delete_run_series(tr: Transaction, run_id: str, max_bytes: int) -> bool:
    """Clear a run's series, about ``max_bytes`` of stored keys and values per call; True once none are left.

    Keys go in key order: block data first, series summaries last, so a run being deleted shows its
    series (possibly truncated) until the very end. Call it in a fresh transaction until it returns
    True; each call reads and clears a bounded amount, whatever the run's size.
    """
    if max_bytes < 1:
        raise ValueError("max_bytes must be positive")
    begin, end = layout.run_prefix(run_id), strinc(layout.run_prefix(run_id))
    total = 0
    last: bytes | None = None
    for k, v in tr.get_range(begin, end):
        if total >= max_bytes:
            assert last is not None
            tr.clear_range(begin, last + b"\x00")
            return False
        total += len(k) + len(v)
        last = k
    if last is not None:
        tr.clear_range(begin, end)
    return True
