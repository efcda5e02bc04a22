"""The blocks of one series inside one transaction: finding index entries and loading block bodies."""

from __future__ import annotations

from matyan_store.codec import Block, decode_block, join_parts
from matyan_store.engine.base import ReadTransaction
from matyan_store.sequences import layout
from matyan_store.sequences.layout import IndexEntry, decode_index_entry
from matyan_store.sequences.open_block import decode_segments
from matyan_store.sequences.records import SeriesKey

# Steps are ints in [0, 2**64): what a step key can hold (layout.pack_step).
_STEP_LIMIT = 1 << 64


class SeriesBlocks:
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
