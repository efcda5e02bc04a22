"""Series identity and summaries: ``SeriesKey``, the per-series ``SeriesSummary`` record and its reads.

The summary ("trace info") is one small record per series (:func:`matyan_store.sequences.layout.summary_key`),
rewritten by every write (:mod:`matyan_store.sequences.append`); listing a run's series reads only these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from matyan_store.codec import ValueKind
from matyan_store.engine.base import ReadTransaction
from matyan_store.keys import unpack
from matyan_store.sequences import layout
from matyan_store.values import decode_value, encode_value

_RECORD_VERSION = 1


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


def kind_name(kind: ValueKind) -> str:
    return kind.name.lower()


def kind_of(name: str) -> ValueKind:
    return ValueKind[name.upper()]


def encode_record(s: SeriesSummary) -> bytes:
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


def decode_record(data: bytes) -> SeriesSummary:
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
    return None if data is None else decode_record(data)


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
        out.append((SeriesKey(run_id, ctx, name), decode_record(v)))
    return out
