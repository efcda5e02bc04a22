"""Where a series lives under ``SERIES`` and how its small records are encoded.

Per run (so one prefix clears a run, and listing a run's series never walks block bodies)::

    (run, 0, ctx, name)                       series summary (SeriesSummary record)
    (run, 1, ctx, name, 0, first_step)        block index entry: part count, block summary, rollup
    (run, 1, ctx, name, 1, first_step)        block body, when it fits one value
    (run, 1, ctx, name, 1, first_step, i)     block body part i, when it does not (a huge object)

The last block of a series may be *open* (see :mod:`matyan_store.sequences.open_block`): its index entry
says so, and its body is a list of raw segments, segment 0 at the body key and segment ``i >= 1`` at the
part key ``i``, so an append adds one small key instead of rewriting the block.

Small ints as tags keep keys short (an int 0 packs to one byte). The index entries of one series are
contiguous, so a reader picks blocks from one short range read without touching any body.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from matyan_store.codec import BlockSummary, decode_summary, encode_summary
from matyan_store.codec.varint import ByteReader, put_bytes, put_uvarint
from matyan_store.keys import SERIES

SUMMARY_SECTION = 0
DATA_SECTION = 1
INDEX_TAG = 0
BODY_TAG = 1

_INDEX_VERSION = 1
_OPEN_INDEX_VERSION_NO_ROLLUP = 2
_OPEN_INDEX_VERSION = 3


_INT_CODE = 0x14


def pack_step(step: int) -> bytes:
    """``pack((step,))`` of the tuple layer for a step (an int in [0, 2**64)), without its generic encoder.

    Appends pack a few keys each; the generic encoder costs more than the rest of a small append.
    """
    if step == 0:
        return b"\x14"
    size = (step.bit_length() + 7) // 8
    if size > 8:
        raise ValueError(f"step out of range: {step}")
    return bytes((_INT_CODE + size,)) + step.to_bytes(size, "big")


@dataclass(frozen=True, slots=True)
class SeriesPrefixes:
    """The packed keys of one series that do not depend on a step."""

    summary: bytes
    index: bytes
    body: bytes


@lru_cache(maxsize=4096)
def series_prefixes(run_id: str, ctx: int, name: str) -> SeriesPrefixes:
    """Summary key, index entry prefix and body key prefix of a series (cached: writers repeat them)."""
    return SeriesPrefixes(
        summary_key(run_id, ctx, name),
        index_base(run_id, ctx, name),
        SERIES.pack((run_id, DATA_SECTION, ctx, name, BODY_TAG)),
    )


def run_prefix(run_id: str) -> bytes:
    """Prefix of every key of a run's series."""
    return SERIES.pack((run_id,))


def summaries_range(run_id: str) -> tuple[bytes, bytes]:
    """Range of a run's series summary keys."""
    return SERIES.range((run_id, SUMMARY_SECTION))


def summary_key(run_id: str, ctx: int, name: str) -> bytes:
    """Key of a series summary."""
    return SERIES.pack((run_id, SUMMARY_SECTION, ctx, name))


def index_key(run_id: str, ctx: int, name: str, first_step: int) -> bytes:
    """Key of the index entry of the block starting at ``first_step``."""
    return SERIES.pack((run_id, DATA_SECTION, ctx, name, INDEX_TAG, first_step))


def index_base(run_id: str, ctx: int, name: str) -> bytes:
    """Packed prefix of a series' index entries (append a packed step to get a key)."""
    return SERIES.pack((run_id, DATA_SECTION, ctx, name, INDEX_TAG))


def body_key(run_id: str, ctx: int, name: str, first_step: int) -> bytes:
    """Key of a block body stored in one value (its parts, if any, extend this key)."""
    return SERIES.pack((run_id, DATA_SECTION, ctx, name, BODY_TAG, first_step))


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """What the index says about one block: its summary, how many keys its body spans, its rollup.

    For an open block (``open``) ``parts`` counts its raw segments and ``raw_bytes`` their total size
    (what decides when it is sealed); its rollup is in the open form (see
    :mod:`matyan_store.sequences.rollup`). An empty rollup means none.
    """

    summary: BlockSummary
    parts: int
    rollup: bytes
    open: bool = False
    raw_bytes: int = 0

    @property
    def first_step(self) -> int:
        """The block's first step (its key)."""
        return self.summary.first_step


def encode_index_entry(summary: BlockSummary, parts: int, rollup: bytes) -> bytes:
    """Encode the index entry value of a sealed block."""
    out = bytearray((_INDEX_VERSION,))
    put_uvarint(out, parts)
    put_bytes(out, encode_summary(summary))
    put_bytes(out, rollup)
    return bytes(out)


def encode_open_index_entry(summary: BlockSummary, segments: int, raw_bytes: int, rollup: bytes) -> bytes:
    """Encode the index entry value of an open block of ``segments`` raw segments."""
    out = bytearray((_OPEN_INDEX_VERSION,))
    put_uvarint(out, segments)
    put_uvarint(out, raw_bytes)
    put_bytes(out, encode_summary(summary))
    put_bytes(out, rollup)
    return bytes(out)


def decode_index_entry(data: bytes) -> IndexEntry:
    """Inverse of :func:`encode_index_entry`."""
    r = ByteReader(data)
    version = r.byte()
    if version in (_OPEN_INDEX_VERSION, _OPEN_INDEX_VERSION_NO_ROLLUP):
        segments = r.uvarint()
        raw_bytes = r.uvarint()
        summary = decode_summary(r.sized())
        # Entries written before open blocks had rollups have none: readers load the block instead.
        rollup = r.sized() if version == _OPEN_INDEX_VERSION else b""
        if not r.at_end():
            raise ValueError("trailing bytes after series index entry")
        return IndexEntry(summary, segments, rollup, True, raw_bytes)
    if version != _INDEX_VERSION:
        raise ValueError(f"unsupported series index entry version {version}")
    parts = r.uvarint()
    summary = decode_summary(r.sized())
    rollup = r.sized()
    if not r.at_end():
        raise ValueError("trailing bytes after series index entry")
    return IndexEntry(summary, parts, rollup)
