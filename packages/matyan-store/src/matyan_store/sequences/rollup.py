"""Block rollups: a level-of-detail pyramid of the points a chart keeps, stored in the index entries.

A chart keeps the first, min, max and last point of aligned power-of-two step buckets
(:mod:`matyan_store.codec.buckets`). Each block's index entry carries those kept points, with their
steps, values, epochs and timestamps, for buckets of :data:`FINE_WIDTH` steps and (sealed blocks) of
:data:`MID_WIDTH` and :data:`COARSE_WIDTH` steps; a block lying inside one chart bucket is answered
by its summary (the top level). Because buckets are aligned, the kept points of finer buckets hold
every point a wider bucket keeps, so a chart of any width from :data:`FINE_WIDTH` up is computed
exactly from index entries alone, at the coarsest level that fits: the same answer as resampling
every point (:func:`matyan_store.codec.downsample`), without loading a block body. Narrower (zoomed)
charts are resampled at full resolution by the caller; a block cut by a range bound is loaded.

Rollups are rebuilt whenever a block is written (sealing, rewriting, overwriting a step), in the same
transaction; an open block's rollup is extended on each append (:func:`extend_open_rollup`). OBJECT
blocks and blocks whose rollup would keep most of their points have none (they are loaded instead),
and so have entries written before this format (their rollup is ignored).

Rollup value (sealed block)::

    version | len+fine (a codec block) | len+mid, len+coarse (open-block segments)

and an open block's rollup is one open-block segment of its fine level, or one zero byte when it
keeps too many points to rewrite on every append (a sparse series; readers load the block).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from matyan_store.codec import Block, BlockSummary, decode_block, encode_block_columns
from matyan_store.codec.buckets import bucket_width, downsample_block
from matyan_store.codec.reads import concat_blocks
from matyan_store.codec.varint import ByteReader, put_bytes
from matyan_store.sequences.layout import IndexEntry
from matyan_store.sequences.open_block import decode_segment, segment_block

FINE_WIDTH = 1 << 8
"""Step width of the finest rollup level; narrower charts are resampled from the blocks."""

MID_WIDTH = 1 << 10
"""Step width of the middle level of sealed blocks."""

COARSE_WIDTH = 1 << 12
"""Step width of the coarse level of sealed blocks (what wide charts of long series read)."""

_VERSION = 4

# A rollup keeping more than this share of a block's points costs more than loading the block.
_MAX_KEPT_SHARE = 0.5

# An open block's rollup is rewritten on every append: past this many kept points (a sparse series)
# it is not kept, and readers load the (small) open block instead.
_OPEN_MAX_KEPT = 256
_NOT_KEPT = b"\x00"


def _fine(block: Block) -> Block | None:
    if not block.kind.numeric or len(block) == 0:
        return None
    fine = downsample_block(block, FINE_WIDTH)
    return fine if len(fine) <= _MAX_KEPT_SHARE * len(block) else None


def build_rollup(block: Block) -> bytes:
    """The rollup of a sealed block (empty when it does not pay off)."""
    fine = _fine(block)
    if fine is None:
        return b""
    out = bytearray((_VERSION,))
    put_bytes(out, encode_block_columns(fine))
    # The wider levels are small: kept raw, so reading one costs no inflate.
    for width in (MID_WIDTH, COARSE_WIDTH):
        level = downsample_block(fine, width)
        put_bytes(out, segment_block(level, 0, len(level)))
    return bytes(out)


def _open_form(fine: Block) -> bytes:
    if len(fine) > _OPEN_MAX_KEPT:
        return _NOT_KEPT
    return segment_block(fine, 0, len(fine))


def open_rollup(block: Block) -> bytes:
    """The rollup of an open block: its fine level as one raw segment (extended on every append)."""
    if not block.kind.numeric or len(block) == 0:
        return _NOT_KEPT
    return _open_form(downsample_block(block, FINE_WIDTH))


def extend_open_rollup(rollup: bytes, appended: Block) -> bytes | None:
    """The rollup of an open block after ``appended`` (points after all of its own) joins it.

    None when there is none to extend (an entry of the former format, or a change of value kind): the
    caller rewrites the block, which builds a fresh one.
    """
    if rollup == _NOT_KEPT:
        return _NOT_KEPT
    if not rollup or not appended.kind.numeric:
        return None
    old = decode_segment(rollup)
    if old.kind is not appended.kind:
        return None
    return _open_form(downsample_block(concat_blocks([old, appended]), FINE_WIDTH))


def rollup_level(entry: IndexEntry, width: int) -> Block | None:
    """The kept points of ``entry``'s block at the coarsest stored level not wider than ``width``.

    None when the entry has no usable rollup (or ``width`` is under :data:`FINE_WIDTH`).
    """
    data = entry.rollup
    if not data or data == _NOT_KEPT or width < FINE_WIDTH:
        return None
    if entry.open:
        return decode_segment(data)
    r = ByteReader(data)
    if r.byte() != _VERSION:
        return None  # a rollup of the former format: load the block instead
    fine = r.sized()
    mid = r.sized()
    if width < MID_WIDTH:
        return decode_block(fine)
    coarse = r.sized()
    return decode_segment(coarse if width >= COARSE_WIDTH else mid)


def _summary_points(s: BlockSummary) -> Block:
    picked = {p.step: p for p in (s.first, s.min_point, s.max_point, s.last) if p is not None}
    return Block.from_points([picked[k] for k in sorted(picked)], s.kind)


def rollup_downsample(
    entries: Sequence[IndexEntry],
    load: Callable[[IndexEntry], Block],
    buckets: int,
    start: int | None,
    stop: int | None,
    *,
    with_epochs_timestamps: bool,
) -> Block | None:
    """A chart over ``entries`` (those overlapping ``[start, stop)``, in step order) from their rollups.

    None when the chart's buckets are narrower than :data:`FINE_WIDTH` (zoomed in) or a block holds
    objects: the caller resamples at full resolution. A block cut by a bound, or without a rollup, is
    loaded with ``load`` (so a chart of a range loads at most the two blocks at its ends).
    """
    if not entries or not all(e.summary.kind.numeric for e in entries):
        return None
    # Blocks cut by a bound are loaded first: the chart's width follows the first and last point in
    # the range, wherever blocks happen to be cut.
    cut: dict[int, Block] = {}
    for i, e in enumerate(entries):
        s = e.summary
        if (start is not None and s.first_step < start) or (stop is not None and s.last_step >= stop):
            cut[i] = load(e).slice(start, stop)
    ends: list[tuple[int, int]] = []
    for i, e in enumerate(entries):
        part = cut.get(i)
        if part is None:
            ends.append((e.first_step, e.summary.last_step))
        elif len(part):
            ends.append((part.steps[0], part.steps[-1]))
    if not ends:
        return None
    width = bucket_width(ends[0][0], ends[-1][1], buckets)
    if width < FINE_WIDTH:
        return None
    parts: list[Block] = []
    for i, e in enumerate(entries):
        s = e.summary
        if i in cut:
            parts.append(cut[i])
        elif s.values_included and s.first_step // width == s.last_step // width:
            parts.append(_summary_points(s))
        else:
            level = rollup_level(e, width)
            parts.append(load(e) if level is None else level)
    combined = concat_blocks([p for p in parts if len(p)])
    return downsample_block(combined, width, with_epochs_timestamps=with_epochs_timestamps)
