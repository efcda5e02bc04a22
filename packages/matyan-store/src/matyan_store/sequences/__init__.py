"""Stored series (metrics, terminal logs, log records, custom objects) on the transactional KV engine.

A series ``SeriesKey(run_id, context_id, name)`` is kept as compressed column blocks (the codec of
:mod:`matyan_store.codec`), an index entry per block (its summary and chart rollup), and one summary
per series. Functions take a transaction and never open one. One module per job:
:mod:`~matyan_store.sequences.layout` (keys, index entries), :mod:`~matyan_store.sequences.records`
(series summaries), :mod:`~matyan_store.sequences.blocks` (a series' blocks in a transaction),
:mod:`~matyan_store.sequences.append` (writes, with :mod:`~matyan_store.sequences.open_block` and
:mod:`~matyan_store.sequences.summary_upkeep`), :mod:`~matyan_store.sequences.rollup` (chart
rollups), :mod:`~matyan_store.sequences.reads` and :mod:`~matyan_store.sequences.delete`.
"""

from matyan_store.codec import Block, Point
from matyan_store.sequences.append import (
    BLOCK_TARGET_BYTES,
    UNREAD,
    PointTooLarge,
    Unread,
    write_points,
)
from matyan_store.sequences.delete import delete_run_series
from matyan_store.sequences.reads import read_downsampled, read_last, read_many, read_range, read_tail
from matyan_store.sequences.records import (
    SeriesKey,
    SeriesSummary,
    SeriesWrite,
    get_summary,
    list_run_series,
    next_step,
)
from matyan_store.sequences.summary_upkeep import LAST_VALUE_MAX_BYTES

__all__ = [
    "BLOCK_TARGET_BYTES",
    "LAST_VALUE_MAX_BYTES",
    "UNREAD",
    "Block",
    "Point",
    "PointTooLarge",
    "SeriesKey",
    "SeriesSummary",
    "SeriesWrite",
    "Unread",
    "delete_run_series",
    "get_summary",
    "list_run_series",
    "next_step",
    "read_downsampled",
    "read_last",
    "read_many",
    "read_range",
    "read_tail",
    "write_points",
]
