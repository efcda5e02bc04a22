"""Reading custom-object traces for the search, get-batch and get-step routes.

See docs/http-contract.md, Custom objects, Sampling.

One trace is read inside the caller's transaction: the points within ``record_range`` are point-read
sampled to ``record_density`` (a series of at most that many points comes back whole), and each
sampled step's value is dumped by an :class:`~matyan_api.routes.custom_object_dump.ObjectDumper`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from matyan_api.errors import ApiError
from matyan_api.routes.custom_object_dump import CUSTOM_SEQS, CustomSeq, ObjectDumper
from matyan_api.routes.runs_sampling import RangeError, parse_range, point_read_sample
from matyan_store.blobs import BlobUriSigner
from matyan_store.engine import ReadTransaction
from matyan_store.sequences import SeriesKey, read_range

__all__ = ["CustomTrace", "Range", "custom_seq", "index_ranges", "parse_query_range", "read_custom_trace"]

type Range = tuple[int | None, int | None]


def custom_seq(seq: str) -> CustomSeq:
    """The configuration of a sequence type named in a URL (the routes only register the five)."""
    return CUSTOM_SEQS[seq]


def parse_query_range(text: str) -> Range:
    """A ``record_range`` / ``index_range`` query value; non-integer bounds are a 422 before streaming."""
    try:
        return parse_range(text)
    except RangeError as exc:
        raise ApiError(422, str(exc)) from None


@dataclass(slots=True)
class CustomTrace:
    """The sampled, dumped points of one trace, and the longest stored step list seen (list types)."""

    steps: list[int]
    values: list[Any]
    epochs: list[int | None]
    timestamps: list[float | None]
    max_length: int


def read_custom_trace(
    tr: ReadTransaction,
    seq: CustomSeq,
    key: SeriesKey,
    signer: BlobUriSigner | None,
    *,
    record_range: Range,
    record_density: int,
    index_range: Range,
    index_density: int,
) -> CustomTrace:
    """The points of ``key`` in ``record_range`` sampled to ``record_density``, each value dumped."""
    start, stop = record_range
    if start is not None:
        start = max(start, 0)  # steps are never negative
    block = read_range(tr, key, start, stop)
    steps, values, epochs, timestamps = block.steps, block.values, block.epochs, block.timestamps
    picked = point_read_sample(steps, record_density)
    dumper = ObjectDumper(
        seq,
        signer if seq.blob_uris else None,
        key.run_id,
        key.context_id,
        key.name,
        index_range=index_range,
        index_density=index_density,
    )
    return CustomTrace(
        steps=[steps[i] for i in picked],
        values=[dumper.dump_step(steps[i], values[i]) for i in picked],
        epochs=[epochs[i] for i in picked],
        timestamps=[timestamps[i] for i in picked],
        max_length=dumper.max_length,
    )


def index_ranges(index_range: Range, max_length: int) -> tuple[list[int], list[int]]:
    """``(index_range_total, index_range_used)``: ``[0, max(max_length, 1)]`` and the requested bounds.

    Missing (or zero) bounds of the used range fall back to the total's, as the reference does.
    """
    total = [0, max(max_length, 1)]
    start, stop = index_range
    return total, [start or 0, stop or total[1]]
