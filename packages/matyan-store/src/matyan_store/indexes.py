"""Secondary indexes over runs, written in the same transaction as the data they describe.

Every forward entry ``(field, value..., run_id)`` has a reverse entry ``("_rev", run_id, field,
value...)`` so one run's entries can be found and removed without scanning the forward side. Values of
forward entries are empty; the key is the information.

Fields:
- ``archived`` / ``active``: ``(field, bool, run)``
- ``created_at``: ``(field, float, run)``, one entry per run (a scan never yields a run twice)
- ``experiment`` / ``tag``: ``(field, entity_id, run)``; by id, so renaming an entity needs no index change
- ``hparam``: ``(field, name, rank, value, run)`` for top-level scalar hparams, with every number (int,
  float, bool) stored as a float so ``1 == 1.0`` matches and ``lr > 0`` compares numerically; values the
  index cannot order exactly (NaN, huge ints, long strings) are listed under ``hparam_unindexed`` so a
  planner can still hand them to the evaluator
- ``trace``: ``(field, name, run)``, one per sequence name
- ``series``: ``(field, stat, name, context_id, value, run)`` for the last/min/max of numeric sequences
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from matyan_store.engine.base import ReadTransaction, Transaction
from matyan_store.keys import INDEXES

__all__ = [
    "HPARAM_MAX_STR_BYTES",
    "Bound",
    "count_entries",
    "deindex_run",
    "has_reverse_entry",
    "hparam_element",
    "index_hparams",
    "index_run_fields",
    "index_series_stats",
    "index_trace",
    "iter_created_at",
    "lookup",
    "lookup_hparam_eq",
    "lookup_hparam_range",
    "lookup_hparam_unindexed",
    "lookup_series_range",
    "run_index_entries",
    "series_index_value",
    "set_index_entry",
]

IDX = INDEXES
REV = "_rev"

# Strings longer than this stay out of hparam keys: FoundationDB caps keys at 10 kB.
HPARAM_MAX_STR_BYTES = 1_000
# Beyond 2**53 a float no longer holds every int, so such ints cannot be ordered through the float form.
_EXACT_FLOAT_INT = 2**53

_RANK_NONE = 0
_RANK_NUMBER = 2
_RANK_STR = 4


def _forward(field: str, values: tuple[Any, ...], run_id: str) -> bytes:
    return IDX.pack((field, *values, run_id))


def _reverse(field: str, values: tuple[Any, ...], run_id: str) -> bytes:
    return IDX.pack((REV, run_id, field, *values))


def set_index_entry(tr: Transaction, field: str, values: tuple[Any, ...], run_id: str, present: bool) -> None:
    """Add (``present``) or remove one forward entry and its reverse entry."""
    if present:
        tr.set(_forward(field, values, run_id), b"")
        tr.set(_reverse(field, values, run_id), b"")
    else:
        tr.clear(_forward(field, values, run_id))
        tr.clear(_reverse(field, values, run_id))


def _replace_field(tr: Transaction, run_id: str, field: str, values: tuple[Any, ...] | None) -> None:
    """Make ``values`` the only entry of ``field`` for the run (``None``: no entry)."""
    for old in run_index_entries(tr, run_id, field):
        if old != values:
            set_index_entry(tr, field, old, run_id, present=False)
    if values is not None:
        set_index_entry(tr, field, values, run_id, present=True)


def has_reverse_entry(tr: ReadTransaction, field: str, values: tuple[Any, ...], run_id: str) -> bool:
    """Whether the forward entry ``(field, *values, run_id)`` has its reverse entry."""
    return tr.get(_reverse(field, values, run_id)) is not None


def run_index_entries(tr: ReadTransaction, run_id: str, field: str | None = None) -> list[tuple[Any, ...]]:
    """The run's entries of ``field`` as value tuples (all fields, with the field first, when ``None``)."""
    prefix: tuple[Any, ...] = (REV, run_id) if field is None else (REV, run_id, field)
    begin, end = IDX.range(prefix)
    return [IDX.unpack(key)[len(prefix) :] for key, _ in tr.get_range(begin, end)]


def index_run_fields(
    tr: Transaction,
    run_id: str,
    *,
    archived: bool,
    active: bool,
    created_at: float,
    experiment_id: str | None,
) -> None:
    """Bring the run's archived, active, created_at and experiment entries in line with its meta."""
    _replace_field(tr, run_id, "archived", (bool(archived),))
    _replace_field(tr, run_id, "active", (bool(active),))
    _replace_field(tr, run_id, "created_at", (float(created_at),))
    _replace_field(tr, run_id, "experiment", None if experiment_id is None else (experiment_id,))


def hparam_element(value: Any) -> tuple[Any, ...] | None:
    """The ordered ``(rank, value)`` form of an hparam value, or ``None`` if the index cannot hold it."""
    if value is None:
        return (_RANK_NONE,)
    if isinstance(value, bool | int):
        if abs(int(value)) > _EXACT_FLOAT_INT:
            return None
        return (_RANK_NUMBER, float(value))
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return (_RANK_NUMBER, value + 0.0)  # -0.0 and 0.0 compare equal, so give them one key
    if isinstance(value, str):
        if len(value.encode("utf-8", "surrogatepass")) > HPARAM_MAX_STR_BYTES:
            return None
        return (_RANK_STR, value)
    return None


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, bool | int | float | str)


def index_hparams(tr: Transaction, run_id: str, hparams: Any) -> None:
    """Replace the run's hparam entries with those of ``hparams`` (top-level scalar items of a dict)."""
    for field in ("hparam", "hparam_unindexed"):
        for old in run_index_entries(tr, run_id, field):
            set_index_entry(tr, field, old, run_id, present=False)
    if not isinstance(hparams, Mapping):
        return
    for name, value in hparams.items():
        if not isinstance(name, str) or not _is_scalar(value):
            continue
        element = hparam_element(value)
        if element is None:
            set_index_entry(tr, "hparam_unindexed", (name,), run_id, present=True)
        else:
            set_index_entry(tr, "hparam", (name, *element), run_id, present=True)


def index_trace(tr: Transaction, run_id: str, name: str) -> None:
    """Record that the run has a sequence called ``name`` (idempotent)."""
    set_index_entry(tr, "trace", (name,), run_id, present=True)


def index_series_stats(
    tr: Transaction,
    run_id: str,
    name: str,
    context_id: int,
    old: Mapping[str, float | None] | None,
    new: Mapping[str, float | None],
) -> None:
    """Move the last/min/max entries of one numeric sequence from ``old`` to ``new`` values."""
    for stat in ("last", "min", "max"):
        before = series_index_value(old.get(stat)) if old else None
        after = series_index_value(new.get(stat))
        if before == after:
            continue
        if before is not None:
            set_index_entry(tr, "series", (stat, name, context_id, before), run_id, present=False)
        if after is not None:
            set_index_entry(tr, "series", (stat, name, context_id, after), run_id, present=True)


def series_index_value(value: Any) -> float | None:
    """The float under which a sequence statistic is indexed (``None``: not a number, not indexed)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    as_float = float(value)
    return None if math.isnan(as_float) else as_float + 0.0


def deindex_run(tr: Transaction, run_id: str) -> None:
    """Remove every index entry of the run."""
    begin, end = IDX.range((REV, run_id))
    for key, _ in tr.get_range(begin, end):
        field, *values = IDX.unpack(key)[2:]
        tr.clear(_forward(field, tuple(values), run_id))
    tr.clear_range(begin, end)


def _runs_in(tr: ReadTransaction, prefix: tuple[Any, ...], limit: int = 0) -> list[str]:
    begin, end = IDX.range(prefix)
    return [IDX.unpack(key)[-1] for key, _ in tr.get_range(begin, end, limit=limit)]


def lookup(tr: ReadTransaction, field: str, value: Any, limit: int = 0) -> list[str]:
    """Runs whose ``field`` (archived, active, experiment, tag, trace) equals ``value``, sorted by run id."""
    return _runs_in(tr, (field, value), limit)


def count_entries(tr: ReadTransaction, field: str, value: Any) -> int:
    """How many runs have ``field == value`` (a key-only scan of that part of the index)."""
    begin, end = IDX.range((field, value))
    return sum(1 for _ in tr.get_range(begin, end))


def lookup_hparam_eq(tr: ReadTransaction, name: str, value: Any) -> list[str]:
    """Runs whose top-level hparam ``name`` equals ``value`` (numbers compare numerically)."""
    element = hparam_element(value)
    if element is None:
        return []
    return _runs_in(tr, ("hparam", name, *element))


@dataclass(frozen=True, slots=True)
class Bound:
    """One end of a range: the value and whether it is included."""

    value: Any
    inclusive: bool


def lookup_hparam_range(tr: ReadTransaction, name: str, lo: Bound | None, hi: Bound | None) -> list[str]:
    """Runs whose hparam ``name`` lies between the bounds, compared within one type family.

    Numbers (int, float, bool) are one family and strings another; a value of another family never
    falls in the range, as a failing comparison is False in Python evaluation.
    """
    given = [(bound, hparam_element(bound.value)) for bound in (lo, hi) if bound is not None]
    ranks = {element[0] for _, element in given if element is not None}
    if not given or any(element is None for _, element in given) or len(ranks) != 1:
        return []
    rank = ranks.pop()
    if rank not in (_RANK_NUMBER, _RANK_STR):
        return []
    begin, end = IDX.range(("hparam", name, rank))
    for bound, element in given:
        assert element is not None
        at = ("hparam", name, *element)
        if bound is lo:
            begin = IDX.pack(at) if bound.inclusive else IDX.range(at)[1]
        else:
            end = IDX.range(at)[1] if bound.inclusive else IDX.pack(at)
    if begin >= end:
        return []
    return sorted({IDX.unpack(key)[-1] for key, _ in tr.get_range(begin, end)})


def lookup_hparam_unindexed(tr: ReadTransaction, name: str) -> list[str]:
    """Runs whose hparam ``name`` holds a value the index cannot order (evaluate them one by one)."""
    return _runs_in(tr, ("hparam_unindexed", name))


def lookup_series_range(
    tr: ReadTransaction, stat: str, name: str, context_id: int, lo: Bound | None, hi: Bound | None
) -> list[str]:
    """Runs whose sequence ``(name, context_id)`` has its ``stat`` (last, min, max) within the bounds."""
    prefix = ("series", stat, name, context_id)
    begin, end = IDX.range(prefix)
    if lo is not None:
        key = IDX.pack((*prefix, float(lo.value)))
        begin = key if lo.inclusive else IDX.range((*prefix, float(lo.value)))[1]
    if hi is not None:
        key = IDX.pack((*prefix, float(hi.value)))
        end = IDX.range((*prefix, float(hi.value)))[1] if hi.inclusive else key
    if begin >= end:
        return []
    return sorted({IDX.unpack(key)[-1] for key, _ in tr.get_range(begin, end)})


def iter_created_at(
    tr: ReadTransaction,
    *,
    start: float | None = None,
    end: float | None = None,
    after: tuple[float, str] | None = None,
    limit: int = 0,
    reverse: bool = False,
) -> Iterator[tuple[float, str]]:
    """``(created_at, run_id)`` in creation order, within ``[start, end)``, resuming after ``after``.

    Callers page through any number of runs in bounded transactions by passing the last pair back as
    ``after`` (``before`` semantics when ``reverse``).
    """
    begin, stop = IDX.range(("created_at",))
    if start is not None:
        begin = max(begin, IDX.pack(("created_at", float(start))))
    if end is not None:
        stop = min(stop, IDX.pack(("created_at", float(end))))
    if after is not None:
        cursor = IDX.pack(("created_at", float(after[0]), after[1]))
        if reverse:
            stop = min(stop, cursor)
        else:
            begin = max(begin, cursor + b"\x00")
    if begin >= stop:
        return
    for key, _ in tr.get_range(begin, stop, limit=limit, reverse=reverse):
        _, created_at, run_id = IDX.unpack(key)
        yield created_at, run_id
