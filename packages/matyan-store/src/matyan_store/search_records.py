"""Search records: one compact value per live run, kept in creation order for run search.

Layout under the ``SEARCH_RECORDS`` subspace (docs/storage.md, Search records)::

    (created_at, run_id)   the run's search record (a :class:`SearchRecord`)

The record holds what a run-search frame and a query over ``run`` need besides the trace summaries:
the meta fields, the experiment and tag ids, and the whole attribute tree. A range read over the
subspace therefore visits runs in ``(created_at, run_id)`` order, oldest or newest first, reading one
value per run. Trace summaries stay in the series summaries (:func:`matyan_store.sequences.list_run_series`):
appending points never touches a record.

Only live runs have a record; a run entering pending deletion loses it. :mod:`matyan_store.upkeep` keeps
records in step with every write; :func:`check_run` (called by :mod:`matyan_store.reindex`) compares
one run's record with its primary data and :func:`check_records_page` finds records of runs that are
gone or moved.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Final

from matyan_store import run_records
from matyan_store.engine.base import ReadTransaction, Transaction
from matyan_store.keys import SEARCH_RECORDS
from matyan_store.run_records import RunMeta
from matyan_store.values import decode_value, encode_value

__all__ = [
    "SearchRecord",
    "build_record",
    "check_records_page",
    "check_run",
    "get_record",
    "iter_record_keys",
    "iter_records",
    "meta_changed",
    "record_from_meta",
    "refresh_attrs",
    "refresh_tags",
]

_VERSION: Final = 1


@dataclass(frozen=True, slots=True)
class SearchRecord:
    """A live run as run search reads it."""

    run_id: str
    created_at: float
    name: str
    description: str = ""
    experiment_id: str | None = None
    finalized_at: float | None = None
    duration: float | None = None
    active: bool = True
    archived: bool = False
    tag_ids: tuple[str, ...] = ()
    attrs: dict[Any, Any] = field(default_factory=dict)

    @property
    def key(self) -> bytes:
        """Where the record is stored."""
        return _key(self.created_at, self.run_id)

    def meta_fields(self) -> dict[str, Any]:
        """The meta fields a query reads by name (``run.name``, ``run.active``, ...)."""
        return {
            "name": self.name,
            "description": self.description,
            "created_at": self.created_at,
            "finalized_at": self.finalized_at,
            "active": self.active,
            "archived": self.archived,
        }


def _key(created_at: float, run_id: str) -> bytes:
    return SEARCH_RECORDS.pack((float(created_at), run_id))


def _encode(record: SearchRecord) -> bytes:
    fields = [
        _VERSION,
        record.name,
        record.description,
        record.experiment_id,
        record.finalized_at,
        record.duration,
        record.active,
        record.archived,
        list(record.tag_ids),
        record.attrs,
    ]
    if _json_safe(fields):
        # The C JSON decoder reads a record several times faster than the value codec; it is used when
        # JSON gives back exactly what was written (string dict keys, no bytes, no tuples).
        return _JSON + json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode(
            "utf-8", "surrogatepass"
        )
    return encode_value(fields)


_JSON: Final = b"\x00J"


def _json_safe(value: Any) -> bool:
    if value is None or isinstance(value, bool | int | float | str):
        return True
    if isinstance(value, list):
        return all(_json_safe(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json_safe(v) for k, v in value.items())
    return False


def _decode(created_at: float, run_id: str, raw: bytes) -> SearchRecord:
    rec = (
        json.loads(raw[len(_JSON) :].decode("utf-8", "surrogatepass"))
        if raw.startswith(_JSON)
        else decode_value(raw)
    )
    if not isinstance(rec, list) or not rec or rec[0] != _VERSION:
        raise ValueError("unsupported search record")
    _, name, description, experiment_id, finalized_at, duration, active, archived, tag_ids, attrs = rec
    return SearchRecord(
        run_id,
        created_at,
        name,
        description,
        experiment_id,
        finalized_at,
        duration,
        active,
        archived,
        tuple(tag_ids),
        attrs,
    )


def record_from_meta(meta: RunMeta, tag_ids: tuple[str, ...], attrs: Any) -> SearchRecord:
    """The record of a run with ``meta``, ``tag_ids`` and attribute tree ``attrs``."""
    return SearchRecord(
        run_id=meta.run_id,
        created_at=float(meta.created_at),
        name=meta.name,
        description=meta.description,
        experiment_id=meta.experiment_id,
        finalized_at=meta.finalized_at,
        duration=meta.duration,
        active=bool(meta.active),
        archived=bool(meta.archived),
        tag_ids=tag_ids,
        attrs=attrs if isinstance(attrs, dict) else {},
    )


def build_record(tr: ReadTransaction, run_id: str) -> SearchRecord | None:
    """The record the run's primary data calls for (``None``: missing or pending deletion)."""
    meta = run_records.get_run(tr, run_id)
    if meta is None:
        return None
    tag_ids = tuple(run_records.get_run_tag_ids(tr, run_id))
    return record_from_meta(meta, tag_ids, run_records.get_run_attrs(tr, run_id))


def get_record(tr: ReadTransaction, run_id: str, created_at: float) -> SearchRecord | None:
    """The stored record of the run created at ``created_at`` (its meta's), if any."""
    raw = tr.get(_key(created_at, run_id))
    return None if raw is None else _decode(float(created_at), run_id, raw)


def _put(tr: Transaction, record: SearchRecord) -> None:
    tr.set(record.key, _encode(record))


def iter_records(
    tr: ReadTransaction,
    *,
    newest_first: bool = False,
    after: tuple[float, str] | None = None,
    limit: int = 0,
) -> Iterator[SearchRecord]:
    """Records in ``(created_at, run_id)`` order (reversed with ``newest_first``), one range read.

    ``after``: resume past this ``(created_at, run_id)`` (in the walk's direction); ``limit``: at most
    that many records (0: all).
    """
    for created_at, run_id, raw in _iter_raw(tr, newest_first, after, limit):
        yield _decode(created_at, run_id, raw)


def iter_record_keys(
    tr: ReadTransaction,
    *,
    newest_first: bool = False,
    after: tuple[float, str] | None = None,
    limit: int = 0,
) -> Iterator[tuple[float, str]]:
    """``(created_at, run_id)`` of the records, as :func:`iter_records` walks them, values not decoded."""
    for created_at, run_id, _ in _iter_raw(tr, newest_first, after, limit):
        yield created_at, run_id


def _iter_raw(
    tr: ReadTransaction, newest_first: bool, after: tuple[float, str] | None, limit: int
) -> Iterator[tuple[float, str, bytes]]:
    begin, end = SEARCH_RECORDS.range(())
    if after is not None:
        if newest_first:
            end = _key(*after)
        else:
            begin = _key(*after) + b"\x00"
    prefix = len(SEARCH_RECORDS.key)
    for key, raw in tr.get_range(begin, end, limit=limit, reverse=newest_first):
        created_at, run_id = _split_key(key, prefix)
        yield created_at, run_id, raw


_DOUBLE_CODE: Final = 0x21
_STRING_CODE: Final = 0x02
_BE_U64: Final = struct.Struct(">Q")
_BE_F64: Final = struct.Struct(">d")
_SIGN: Final = 1 << 63
_ALL: Final = (1 << 64) - 1


def _split_key(key: bytes, prefix: int) -> tuple[float, str]:
    """``(created_at, run_id)`` of a record key, decoded without the generic tuple unpacker.

    The tuple layer stores a double as a big-endian u64 with the sign bit flipped (every bit for
    negatives) and a string as ``0x02``, its bytes with ``0x00`` escaped as ``0x00 0xff``, ``0x00``.
    """
    if key[prefix] != _DOUBLE_CODE or key[prefix + 9] != _STRING_CODE:
        stored_at, run_id = SEARCH_RECORDS.unpack(key)
        return float(stored_at), str(run_id)
    bits = _BE_U64.unpack_from(key, prefix + 1)[0]
    bits = bits ^ _SIGN if bits & _SIGN else bits ^ _ALL
    created_at: float = _BE_F64.unpack(_BE_U64.pack(bits))[0]
    return created_at, key[prefix + 10 : -1].replace(b"\x00\xff", b"\x00").decode()


# --- upkeep ------------------------------------------------------------------------------------------


def meta_changed(tr: Transaction, old: RunMeta | None, new: RunMeta) -> None:
    """The run's meta went from ``old`` to ``new``: move, patch, create or drop its record.

    A run that stops being live loses its record; a live run's record keeps its tags and attributes
    (read from primary data only when it had no record).
    """
    was = None if old is None or old.pending_deletion else old
    stored = None if was is None else get_record(tr, was.run_id, was.created_at)
    if stored is not None and float(new.created_at) != stored.created_at:
        tr.clear(stored.key)
    if new.pending_deletion:
        if stored is not None:
            tr.clear(stored.key)
        return
    if stored is None:
        tag_ids = tuple(run_records.get_run_tag_ids(tr, new.run_id))
        record = record_from_meta(new, tag_ids, run_records.get_run_attrs(tr, new.run_id))
    else:
        record = record_from_meta(new, stored.tag_ids, stored.attrs)
    _put(tr, record)


def _live_record(tr: Transaction, run_id: str) -> tuple[RunMeta, SearchRecord | None] | None:
    meta = run_records.get_run(tr, run_id)
    if meta is None:
        return None
    return meta, get_record(tr, run_id, meta.created_at)


def refresh_attrs(tr: Transaction, run_id: str) -> None:
    """The run's attributes were written: its record takes the whole tree again."""
    found = _live_record(tr, run_id)
    if found is None:
        return
    meta, stored = found
    attrs = run_records.get_run_attrs(tr, run_id)
    tags = stored.tag_ids if stored is not None else tuple(run_records.get_run_tag_ids(tr, run_id))
    _put(tr, record_from_meta(meta, tags, attrs))


def refresh_tags(tr: Transaction, run_id: str) -> None:
    """A tag was linked to or unlinked from the run: its record takes the tag ids again."""
    found = _live_record(tr, run_id)
    if found is None:
        return
    meta, stored = found
    tag_ids = tuple(run_records.get_run_tag_ids(tr, run_id))
    if stored is None:
        _put(tr, record_from_meta(meta, tag_ids, run_records.get_run_attrs(tr, run_id)))
    else:
        _put(tr, replace(stored, tag_ids=tag_ids))


# --- verify and repair --------------------------------------------------------------------------------


def check_run(tr: ReadTransaction, run_id: str, fix: bool) -> list[str]:
    """Differences between the run's stored record and its primary data (rewritten with ``fix``).

    Records of this run under another ``created_at`` are left to :func:`check_records_page`.
    """
    expected = build_record(tr, run_id)
    if expected is None:
        return []
    stored = get_record(tr, run_id, expected.created_at)
    if stored == expected:
        return []
    if fix:
        assert isinstance(tr, Transaction)
        _put(tr, expected)
    return [f"run {run_id}: {'stale' if stored is not None else 'missing'} search record"]


def check_records_page(
    tr: ReadTransaction, begin: bytes | None, page: int, fix: bool
) -> tuple[bytes | None, list[str]]:
    """Records of runs that are gone, pending deletion or created at another time; one page of keys.

    Returns where the next page starts (``None``: done) and the differences found (cleared with ``fix``).
    """
    start, end = SEARCH_RECORDS.range(())
    rows = [key for key, _ in tr.get_range(start if begin is None else begin, end, limit=page)]
    notes: list[str] = []
    for key in rows:
        created_at, run_id = SEARCH_RECORDS.unpack(key)
        meta = run_records.get_run(tr, run_id)
        if meta is not None and float(meta.created_at) == float(created_at):
            continue
        notes.append(
            f"run {run_id}: search record at created_at {created_at!r} for a run that is gone or moved"
        )
        if fix:
            assert isinstance(tr, Transaction)
            tr.clear(key)
    return (None if len(rows) < page else rows[-1] + b"\x00"), notes
