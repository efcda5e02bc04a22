"""Stored series (metrics, terminal logs, log records, custom objects) on the transactional KV engine.

A series ``SeriesKey(run_id, context_id, name)`` is kept as compressed column blocks (the codec of
:mod:`matyan_store.codec`), an index entry per block (its summary and chart rollup), and one summary
per series. Functions take a transaction; see :mod:`matyan_store.sequences.store` for costs and
:mod:`matyan_store.sequences.layout` for the keys.
"""

from matyan_store.codec import Block, Point
from matyan_store.sequences.store import (
    BLOCK_TARGET_BYTES,
    LAST_VALUE_MAX_BYTES,
    UNREAD,
    PointTooLarge,
    SeriesKey,
    SeriesSummary,
    SeriesWrite,
    Unread,
    delete_run_series,
    get_summary,
    list_run_series,
    next_step,
    read_downsampled,
    read_last,
    read_many,
    read_range,
    read_tail,
    write_points,
)

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
