"""A decoded block: the columns of a run of consecutive points of one series."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from operator import lt
from typing import Any

from matyan_store.codec.points import Point, Value, ValueKind, coerce_values, infer_kind, normalize_point
from matyan_store.codec.summary import BlockSummary, count_nans, summarize

SKETCH_WINDOW = 64
"""Points per sketch window; each window records where its min and max are (one byte each)."""

NO_EXTREME = 0xFF
"""Sketch offset of a window without a min/max (all NaN)."""

_STEPS, _VALUES, _EPOCHS, _TIMESTAMPS = range(4)

Column = Sequence[Any]


class Block:
    """Columns ``steps`` (strictly increasing), ``values``, ``epochs`` and ``timestamps`` of equal length.

    Blocks made by :func:`~matyan_store.codec.block_codec.decode_block` decode each column on first
    access, so a reader that only needs steps and values never pays for the other columns. Column
    sequences are arrays, ranges or lists; treat them as read-only.
    """

    __slots__ = (
        "_cols",
        "_decoders",
        "_n",
        "_sketch",
        "_sketch_decoder",
        "_summary",
        "_summary_decoder",
        "kind",
    )

    def __init__(
        self,
        kind: ValueKind,
        steps: Sequence[int],
        values: Sequence[Value],
        epochs: Sequence[int | None],
        timestamps: Sequence[float | None],
        *,
        summary: BlockSummary | None = None,
        sketch: bytes | None = None,
    ) -> None:
        n = len(steps)
        if not len(values) == len(epochs) == len(timestamps) == n:
            raise ValueError("block columns must have the same length")
        self.kind = kind
        self._n = n
        self._cols: list[Column | None] = [steps, values, epochs, timestamps]
        self._decoders: list[Callable[[], Column] | None] = [None, None, None, None]
        self._summary = summary
        self._sketch = sketch
        self._sketch_decoder: Callable[[], bytes] | None = None
        self._summary_decoder: Callable[[], BlockSummary] | None = None

    @classmethod
    def lazy(
        cls,
        kind: ValueKind,
        n: int,
        decoders: Sequence[Callable[[], Column]],
        *,
        summary: Callable[[], BlockSummary] | None = None,
        sketch: Callable[[], bytes] | None = None,
    ) -> Block:
        """A block whose columns are produced by ``decoders`` (steps, values, epochs, timestamps) on use."""
        block = cls.__new__(cls)
        block.kind = kind
        block._n = n
        block._cols = [None, None, None, None]
        block._decoders = list(decoders)
        block._summary = None
        block._summary_decoder = summary
        block._sketch = None
        block._sketch_decoder = sketch
        return block

    @classmethod
    def from_points(cls, points: Iterable[Point | tuple[Any, ...]], kind: ValueKind | None = None) -> Block:
        """Build a block from points in any order; a repeated step keeps its last point.

        ``kind`` defaults to :func:`~matyan_store.codec.points.infer_kind` of the values.
        """
        pts = [normalize_point(p) for p in points]
        if not pts:
            raise ValueError("a block needs at least one point")
        steps = [p.step for p in pts]
        if not all(map(lt, steps, islice(steps, 1, None))):
            by_step = {p.step: p for p in pts}
            pts = [by_step[s] for s in sorted(by_step)]
            steps = [p.step for p in pts]
        values = [p.value for p in pts]
        k = infer_kind(values) if kind is None else kind
        return cls(
            k,
            steps,
            coerce_values(values, k),
            [p.epoch for p in pts],
            [p.timestamp for p in pts],
        )

    def _col(self, i: int) -> Column:
        col = self._cols[i]
        if col is None:
            decoder = self._decoders[i]
            assert decoder is not None
            col = decoder()
            if len(col) != self._n:
                raise ValueError("decoded column has the wrong length")
            self._cols[i] = col
        return col

    @property
    def steps(self) -> Sequence[int]:
        """Steps, strictly increasing."""
        return self._col(_STEPS)

    @property
    def values(self) -> Sequence[Value]:
        """Values (floats for FLOAT, ints for INT, bools for BOOL, anything for OBJECT)."""
        return self._col(_VALUES)

    @property
    def epochs(self) -> Sequence[int | None]:
        """Epochs, None where not given."""
        return self._col(_EPOCHS)

    @property
    def timestamps(self) -> Sequence[float | None]:
        """Timestamps, None where not given."""
        return self._col(_TIMESTAMPS)

    @property
    def first_step(self) -> int:
        """Step of the first point (the block's identity in storage)."""
        return self.steps[0]

    @property
    def summary(self) -> BlockSummary:
        """The block's summary (stored in encoded blocks, computed otherwise)."""
        if self._summary is None and self._summary_decoder is not None:
            self._summary = self._summary_decoder()
        if self._summary is None:
            self._summary = summarize(self.kind, self.steps, self.values, self.epochs, self.timestamps)
        return self._summary

    @property
    def sketch(self) -> bytes:
        """Per-window min and max offsets (see :data:`SKETCH_WINDOW`); empty for OBJECT blocks."""
        if self._sketch is None:
            if self._sketch_decoder is not None:
                self._sketch = self._sketch_decoder()
            else:
                self._sketch = compute_sketch(self.kind, self.values)
        return self._sketch

    def __len__(self) -> int:
        return self._n

    def __repr__(self) -> str:
        if self._n == 0:
            return f"Block({self.kind.name}, empty)"
        return f"Block({self.kind.name}, {self._n} points, steps {self.steps[0]}..{self.steps[-1]})"

    def point(self, i: int) -> Point:
        """The ``i``-th point."""
        return Point(self.steps[i], self.values[i], self.epochs[i], self.timestamps[i])

    def points(self) -> Iterator[Point]:
        """All points in step order."""
        return map(Point, self.steps, self.values, self.epochs, self.timestamps)

    def take(self, start: int, stop: int) -> Block:
        """The points with indices in ``[start, stop)``."""
        return Block(
            self.kind,
            self.steps[start:stop],
            self.values[start:stop],
            self.epochs[start:stop],
            self.timestamps[start:stop],
        )

    def slice(self, start: int | None = None, stop: int | None = None) -> Block:
        """The points with ``start <= step < stop`` (either bound may be None)."""
        steps = self.steps
        i = 0 if start is None else bisect_left(steps, start)
        j = self._n if stop is None else bisect_left(steps, stop)
        if i == 0 and j == self._n:
            return self
        return self.take(i, max(i, j))


def compute_sketch(kind: ValueKind, values: Sequence[Value]) -> bytes:
    """Offsets of the first min and first max (ignoring NaN) inside each window of :data:`SKETCH_WINDOW`."""
    if not kind.numeric:
        return b""
    n = len(values)
    mins = bytearray()
    maxs = bytearray()
    clean = count_nans(kind, values) == 0
    for c in range(0, n, SKETCH_WINDOW):
        seg = values[c : c + SKETCH_WINDOW]
        if clean:
            mins.append(seg.index(min(seg)))
            maxs.append(seg.index(max(seg)))
            continue
        real = [(v, i) for i, v in enumerate(seg) if v == v]
        if not real:
            mins.append(NO_EXTREME)
            maxs.append(NO_EXTREME)
            continue
        lo = min(v for v, _ in real)
        hi = max(v for v, _ in real)
        mins.append(next(i for v, i in real if v == lo))
        maxs.append(next(i for v, i in real if v == hi))
    return bytes(mins + maxs)
