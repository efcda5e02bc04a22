"""Block rollups: the first, min, max and last point of every window of a numeric block.

A rollup is stored in the block's index entry, next to its summary, so a chart over many blocks is
answered from index entries alone, without loading or decoding a single block body: a 1M-point
series is ~15,600 windows of :data:`ROLLUP_WINDOW` points instead of 1M points.

The chart path (:func:`rollup_downsample`) works on *atoms*, each the first/min/max/last of a run of
consecutive points. A bucket takes the atoms whose first step falls in it, so bucket edges snap to
window edges; that is only done when a bucket spans at least :data:`MIN_WINDOWS_PER_BUCKET` windows
(the edges then move by at most 1/8 of a bucket). Each bucket's min and max are still the exact
extremes of the points it holds, so a spike is never hidden. Narrower buckets (zoomed charts) return
``None`` here and the caller resamples at full resolution.

Rollups exist only for FLOAT and INT blocks without NaN; other blocks are decoded and atomised on the
fly (exactly the same result, just slower).
"""

from __future__ import annotations

import zlib
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from matyan_store.codec import Block, BlockSummary, ValueKind
from matyan_store.codec.block import SKETCH_WINDOW
from matyan_store.codec.points import Value, coerce_values, unify_kinds
from matyan_store.codec.varint import ByteReader, put_uvarint
from matyan_store.sequences.layout import IndexEntry

ROLLUP_WINDOW = SKETCH_WINDOW
"""Points per rollup window (the codec's sketch window, whose min/max offsets the rollup reuses)."""

MIN_WINDOWS_PER_BUCKET = 8
"""A bucket must span this many windows (in steps) before bucket edges may snap to window edges."""

_VERSION = 3


@dataclass(slots=True)
class Atoms:
    """First/min/max/last steps and values of consecutive runs of points, in step order.

    ``min_v``/``max_v`` hold None for a run without an ordered value (all NaN).
    """

    first_s: list[int]
    first_v: list[Value]
    min_s: list[int]
    min_v: list[Value]
    max_s: list[int]
    max_v: list[Value]
    last_s: list[int]
    last_v: list[Value]

    @classmethod
    def empty(cls) -> Atoms:
        """No atoms."""
        return cls([], [], [], [], [], [], [], [])

    def extend(self, other: Atoms) -> None:
        """Append ``other`` (which must follow in step order)."""
        self.first_s += other.first_s
        self.first_v += other.first_v
        self.min_s += other.min_s
        self.min_v += other.min_v
        self.max_s += other.max_s
        self.max_v += other.max_v
        self.last_s += other.last_s
        self.last_v += other.last_v


def build_rollup(block: Block, summary: BlockSummary) -> bytes:
    """The rollup of an encoded block (empty when the block does not qualify)."""
    kind = block.kind
    if kind not in (ValueKind.FLOAT, ValueKind.INT) or summary.nan_count or len(block) < 2 * ROLLUP_WINDOW:
        # Short blocks cost little to decode; a rollup would only add bytes.
        return b""
    steps = block.steps
    values = block.values
    n = len(block)
    sketch = block.sketch  # computed (and cached) when the block was encoded
    nc = len(sketch) // 2
    starts = range(0, n, ROLLUP_WINDOW)
    ends = [min(s + ROLLUP_WINDOW, n) - 1 for s in starts]
    mins = [s + o for s, o in zip(starts, sketch[:nc], strict=True)]
    maxs = [s + o for s, o in zip(starts, sketch[nc:], strict=True)]
    base = steps[0]
    order = [*starts, *ends, *mins, *maxs]
    vals = array("d" if kind is ValueKind.FLOAT else "q", [values[i] for i in order])
    raw = array("q", [steps[i] - base for i in order]).tobytes() + vals.tobytes()
    # Byte planes (every 8th byte together) make offsets and float32-derived values deflate well;
    # strided slicing shuffles and unshuffles at C speed, so decoding costs one inflate per block.
    planes = b"".join(raw[i::8] for i in range(8))
    out = bytearray((_VERSION, int(kind)))
    put_uvarint(out, nc)
    out += zlib.compress(planes, 6)
    return bytes(out)


def decode_rollup(data: bytes, base: int) -> tuple[ValueKind, Atoms]:
    """The atoms of a rollup whose block starts at step ``base``."""
    r = ByteReader(data)
    version = r.byte()
    if version != _VERSION:
        raise ValueError(f"unsupported rollup version {version}")
    kind = ValueKind(r.byte())
    nc = r.uvarint()
    planes = zlib.decompress(data[r.pos :])
    size = 8 * 8 * nc
    if len(planes) != size:
        raise ValueError("rollup has the wrong length")
    raw = bytearray(size)
    lane = size // 8
    for i in range(8):
        raw[i::8] = planes[i * lane : (i + 1) * lane]
    offs = array("q")
    offs.frombytes(raw[: size // 2])
    vals_arr = array("d" if kind is ValueKind.FLOAT else "q")
    vals_arr.frombytes(raw[size // 2 :])
    vals: list[Value] = vals_arr.tolist()
    st = [base + o for o in offs]
    a, b, c = nc, 2 * nc, 3 * nc
    # Column order: window starts, ends, minima, maxima.
    return kind, Atoms(st[:a], vals[:a], st[b:c], vals[b:c], st[c:], vals[c:], st[a:b], vals[a:b])


def atoms_of_block(block: Block, lo: int, hi: int, nan_count: int) -> Atoms:
    """Atoms of ``ROLLUP_WINDOW`` points over the points of a decoded block with ``lo <= step <= hi``."""
    steps = block.steps
    values = block.values
    i = bisect_left(steps, lo)
    end = bisect_right(steps, hi)
    out = Atoms.empty()
    for a in range(i, end, ROLLUP_WINDOW):
        b = min(a + ROLLUP_WINDOW, end)
        seg = values[a:b]
        out.first_s.append(steps[a])
        out.first_v.append(values[a])
        out.last_s.append(steps[b - 1])
        out.last_v.append(values[b - 1])
        if nan_count:
            real = [(v, k) for k, v in enumerate(seg, a) if v == v]
            if not real:
                out.min_s.append(-1)
                out.min_v.append(None)
                out.max_s.append(-1)
                out.max_v.append(None)
                continue
            lo_v = min(v for v, _ in real)
            hi_v = max(v for v, _ in real)
            k_lo = next(k for v, k in real if v == lo_v)
            k_hi = next(k for v, k in real if v == hi_v)
        else:
            lo_v = min(seg)
            hi_v = max(seg)
            k_lo = a + seg.index(lo_v)
            k_hi = a + seg.index(hi_v)
        out.min_s.append(steps[k_lo])
        out.min_v.append(lo_v)
        out.max_s.append(steps[k_hi])
        out.max_v.append(hi_v)
    return out


def _extreme(vals: list[Value], steps: list[int], i: int, j: int, smallest: bool) -> tuple[int, Value] | None:
    seg = vals[i:j]
    if None in seg:
        pairs = [(v, s) for v, s in zip(seg, steps[i:j], strict=True) if v is not None]
        if not pairs:
            return None
        best = min(v for v, _ in pairs) if smallest else max(v for v, _ in pairs)
        return next(s for v, s in pairs if v == best), best
    best = min(seg) if smallest else max(seg)
    return steps[i + seg.index(best)], best


def bucket_atoms(atoms: Atoms, kind: ValueKind, lo: int, width: int) -> Block:
    """Group atoms into buckets of ``width`` steps by their first step; keep first/min/max/last of each."""
    fs = atoms.first_s
    n = len(fs)
    steps: list[int] = []
    values: list[Value] = []
    i = 0
    while i < n:
        bucket = (fs[i] - lo) // width
        j = bisect_left(fs, lo + (bucket + 1) * width, i, n)
        picked: dict[int, Value] = {fs[i]: atoms.first_v[i], atoms.last_s[j - 1]: atoms.last_v[j - 1]}
        # Earliest point wins ties: atoms are in step order and index() finds the first occurrence.
        for found in (
            _extreme(atoms.min_v, atoms.min_s, i, j, True),
            _extreme(atoms.max_v, atoms.max_s, i, j, False),
        ):
            if found is not None:
                picked[found[0]] = found[1]
        for s in sorted(picked):
            steps.append(s)
            values.append(picked[s])
        i = j
    nones: list[None] = [None] * len(steps)
    return Block(kind, steps, coerce_values(values, kind), nones, nones)


def rollup_downsample(
    entries: Sequence[IndexEntry],
    load: Callable[[IndexEntry], Block],
    buckets: int,
    start: int | None,
    stop: int | None,
) -> Block | None:
    """Steps and values of a chart over ``entries`` from their rollups, or None when it does not apply.

    ``entries`` are the index entries overlapping ``[start, stop)``, in step order. Not applicable (None):
    non-numeric blocks, or buckets narrower than :data:`MIN_WINDOWS_PER_BUCKET` windows of some block.
    Blocks without a rollup, or cut by the range, are decoded and atomised the same way.
    """
    if not entries:
        return None
    kind = entries[0].summary.kind
    for e in entries:
        kind = unify_kinds(kind, e.summary.kind)
    if kind not in (ValueKind.FLOAT, ValueKind.INT):
        return None
    lo = entries[0].first_step if start is None else max(start, entries[0].first_step)
    hi = entries[-1].summary.last_step if stop is None else min(stop - 1, entries[-1].summary.last_step)
    if hi < lo:
        return None
    width = -(-(hi - lo + 1) // buckets)
    for e in entries:
        s = e.summary
        window_span = (s.last_step - s.first_step + 1) * ROLLUP_WINDOW / s.count
        if width < MIN_WINDOWS_PER_BUCKET * window_span:
            return None
    atoms = Atoms.empty()
    for e in entries:
        s = e.summary
        if e.rollup and s.first_step >= lo and s.last_step <= hi:
            atoms.extend(decode_rollup(e.rollup, s.first_step)[1])
        else:
            atoms.extend(atoms_of_block(load(e), lo, hi, s.nan_count))
    return bucket_atoms(atoms, kind, lo, width)
