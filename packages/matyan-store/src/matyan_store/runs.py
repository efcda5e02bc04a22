"""Runs: meta, attributes, contexts, tag and experiment links, and their deletion.

Layout under the ``RUNS`` subspace, per run id:

- ``(run, "m")``: the run's meta as one value (a :class:`RunMeta`), read and written whole;
- ``(run, "a", *path)``: the attribute tree (see :mod:`matyan_store.tree`);
- ``(run, "c", context_id)``: the context dict of each context id;
- ``(run, "t", tag_id)``: the run's tags.

Every write keeps the indexes (:mod:`matyan_store.indexes`) and the entities' run counts in step in
the same transaction. Functions take a transaction and never open one, so callers combine them freely.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from matyan_models import context_to_id
from matyan_store import indexes, params_catalogue, sequences, tombstones
from matyan_store.engine.base import ReadTransaction, Transaction
from matyan_store.entities import adjust_experiment_run_count, adjust_tag_run_count
from matyan_store.keys import RUNS
from matyan_store.tree import tree_get, tree_merge, tree_set
from matyan_store.values import decode_value, encode_value

__all__ = [
    "RunExists",
    "RunMeta",
    "RunNotFound",
    "add_run_tag",
    "attrs_key",
    "create_run",
    "delete_run_data",
    "detach_experiment",
    "detach_tag",
    "ensure_run",
    "get_context",
    "get_contexts",
    "get_run",
    "get_run_attrs",
    "get_run_tag_ids",
    "get_runs",
    "iter_run_ids",
    "mark_pending_deletion",
    "merge_run_attrs",
    "remove_run_tag",
    "set_context",
    "set_run_attrs",
    "set_run_experiment",
    "update_run",
    "write_run_series",
]

_META = "m"
_ATTRS = "a"
_CONTEXTS = "c"
_TAGS = "t"


class RunNotFound(KeyError):  # noqa: N818 (reads as a statement, like EntityNotFound)
    """The run does not exist (or is being deleted)."""

    def __init__(self, run_id: str) -> None:
        super().__init__(run_id)
        self.run_id = run_id

    def __str__(self) -> str:
        return f"run {self.run_id!r} not found"


class RunExists(ValueError):  # noqa: N818 (reads as a statement, like EntityExists)
    """A run with this id already exists."""


@dataclass(frozen=True, slots=True)
class RunMeta:
    """What the store knows about a run besides its attributes and sequences."""

    run_id: str
    name: str
    description: str = ""
    experiment_id: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    finalized_at: float | None = None
    active: bool = True
    archived: bool = False
    client_start_ts: float | None = None
    duration: float | None = None
    pending_deletion: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The meta as a plain dict (``run_id`` included)."""
        return dataclasses.asdict(self)


_META_FIELDS = {f.name for f in dataclasses.fields(RunMeta)} - {"run_id"}


def default_run_name(run_id: str) -> str:
    """The name a run gets when its creator gives none."""
    return f"Run: {run_id}"


def _meta_key(run_id: str) -> bytes:
    return RUNS.pack((run_id, _META))


def _attrs(run_id: str) -> Any:
    return RUNS[(run_id, _ATTRS)]


def _read_meta(tr: ReadTransaction, run_id: str) -> RunMeta | None:
    raw = tr.get(_meta_key(run_id))
    if raw is None:
        return None
    fields = decode_value(raw)
    return RunMeta(run_id=run_id, **{k: v for k, v in fields.items() if k in _META_FIELDS})


def _order(meta: RunMeta | None) -> tuple[float, str] | None:
    return None if meta is None or meta.pending_deletion else (float(meta.created_at), meta.run_id)


def _write_meta(tr: Transaction, old: RunMeta | None, meta: RunMeta) -> None:
    tr.set(_meta_key(meta.run_id), _meta_value(meta))
    params_catalogue.run_order_changed(tr, meta.run_id, _order(old), _order(meta))
    if meta.pending_deletion:
        return
    indexes.index_run_fields(
        tr,
        meta.run_id,
        archived=meta.archived,
        active=meta.active,
        created_at=meta.created_at,
        experiment_id=meta.experiment_id,
    )
    old_exp = old.experiment_id if old is not None and not old.pending_deletion else None
    if old_exp != meta.experiment_id:
        if old_exp is not None:
            adjust_experiment_run_count(tr, old_exp, -1)
        if meta.experiment_id is not None:
            adjust_experiment_run_count(tr, meta.experiment_id, +1)


def get_run(tr: ReadTransaction, run_id: str, *, include_pending: bool = False) -> RunMeta | None:
    """The run's meta; ``None`` if it does not exist or is pending deletion (unless ``include_pending``)."""
    meta = _read_meta(tr, run_id)
    if meta is None or (meta.pending_deletion and not include_pending):
        return None
    return meta


def get_runs(tr: ReadTransaction, run_ids: list[str]) -> list[RunMeta | None]:
    """:func:`get_run` for many runs, aligned with ``run_ids``."""
    return [get_run(tr, run_id) for run_id in run_ids]


def create_run(
    tr: Transaction,
    run_id: str,
    *,
    name: str | None = None,
    description: str = "",
    experiment_id: str | None = None,
    created_at: float | None = None,
    client_start_ts: float | None = None,
    exist_ok: bool = True,
) -> RunMeta:
    """Create the run with complete meta, or reset an existing run's meta (``exist_ok``).

    Resetting keeps the run's attributes, sequences and tags; its index entries are replaced, not
    duplicated. A tombstoned run is not resurrected here: callers check :func:`tombstones.is_deleted`.
    """
    if not run_id:
        raise ValueError("run id must be a non-empty string")
    old = _read_meta(tr, run_id)
    if old is not None and not exist_ok:
        raise RunExists(f"run {run_id!r} already exists")
    now = time.time()
    meta = RunMeta(
        run_id=run_id,
        name=name or default_run_name(run_id),
        description=description or "",
        experiment_id=experiment_id,
        created_at=now if created_at is None else float(created_at),
        updated_at=now,
        client_start_ts=client_start_ts,
    )
    _write_meta(tr, old, meta)
    return meta


def ensure_run(tr: Transaction, run_id: str, *, created_at: float | None = None) -> RunMeta:
    """The run's meta, creating the run with defaults first if it has none (never a partial run)."""
    meta = _read_meta(tr, run_id)
    if meta is not None:
        return meta
    return create_run(tr, run_id, created_at=created_at)


def update_run(tr: Transaction, run_id: str, **fields: Any) -> RunMeta:
    """Change some meta fields (name, description, archived, active, finalized_at, duration, ...).

    ``experiment_id`` goes through :func:`set_run_experiment` semantics (counts and index follow).
    Raises :class:`RunNotFound` for a missing or pending-deletion run.
    """
    unknown = set(fields) - _META_FIELDS
    if unknown:
        raise TypeError(f"unknown run meta fields: {', '.join(sorted(unknown))}")
    old = get_run(tr, run_id)
    if old is None:
        raise RunNotFound(run_id)
    fields.setdefault("updated_at", time.time())
    meta = dataclasses.replace(old, **fields)
    _write_meta(tr, old, meta)
    return meta


def set_run_experiment(tr: Transaction, run_id: str, experiment_id: str | None) -> RunMeta:
    """Attach the run to an experiment (``None``: detach)."""
    return update_run(tr, run_id, experiment_id=experiment_id)


def mark_pending_deletion(tr: Transaction, run_id: str) -> bool:
    """Hide the run from every read and index now; its data is removed later by :func:`delete_run_data`.

    Returns whether the run existed.
    """
    old = get_run(tr, run_id)
    if old is None:
        return False
    indexes.deindex_run(tr, run_id)
    meta = dataclasses.replace(old, pending_deletion=True, updated_at=time.time())
    _write_meta(tr, old, meta)
    if old.experiment_id is not None:
        adjust_experiment_run_count(tr, old.experiment_id, -1)
    for tag_id in get_run_tag_ids(tr, run_id):
        adjust_tag_run_count(tr, tag_id, -1)
    return True


def delete_run_data(tr: Transaction, run_id: str, *, max_bytes: int, now: float | None = None) -> bool:
    """Remove the run's meta, attributes, contexts, links, index entries and sequences, in pieces.

    Each call stays within about ``max_bytes`` of mutations; it returns ``True`` once everything is gone,
    at which point a tombstone with the deletion time is in place. Call it in fresh transactions until
    it returns ``True``; repeating a finished deletion is harmless.
    """
    meta = _read_meta(tr, run_id)
    if meta is not None:
        if not meta.pending_deletion:
            mark_pending_deletion(tr, run_id)
        indexes.deindex_run(tr, run_id)
        begin, end = RUNS.range((run_id,))
        tr.clear_range(begin, end)
    if not sequences.delete_run_series(tr, run_id, max_bytes):
        return False
    tombstones.mark_deleted(tr, run_id, time.time() if now is None else now)
    return True


def get_run_tag_ids(tr: ReadTransaction, run_id: str) -> list[str]:
    """Ids of the run's tags, sorted."""
    begin, end = RUNS.range((run_id, _TAGS))
    return [RUNS.unpack(key)[-1] for key, _ in tr.get_range(begin, end)]


def add_run_tag(tr: Transaction, run_id: str, tag_id: str) -> bool:
    """Link a tag to the run; returns ``False`` if it was already linked (nothing counted twice)."""
    if get_run(tr, run_id) is None:
        raise RunNotFound(run_id)
    key = RUNS.pack((run_id, _TAGS, tag_id))
    if tr.get(key) is not None:
        return False
    tr.set(key, b"")
    indexes.set_index_entry(tr, "tag", (tag_id,), run_id, present=True)
    adjust_tag_run_count(tr, tag_id, +1)
    return True


def remove_run_tag(tr: Transaction, run_id: str, tag_id: str) -> bool:
    """Unlink a tag from the run; returns ``False`` if it was not linked."""
    key = RUNS.pack((run_id, _TAGS, tag_id))
    if tr.get(key) is None:
        return False
    tr.clear(key)
    indexes.set_index_entry(tr, "tag", (tag_id,), run_id, present=False)
    meta = _read_meta(tr, run_id)
    if meta is not None and not meta.pending_deletion:
        adjust_tag_run_count(tr, tag_id, -1)
    return True


def get_run_attrs(tr: ReadTransaction, run_id: str, path: tuple[Any, ...] = ()) -> Any:
    """The run's attributes at ``path`` (``{}`` for a run without attributes at the root)."""
    value = tree_get(tr, _attrs(run_id), path)
    if value is None and not path:
        return {}
    return value


def _touches_hparams(path: tuple[Any, ...], value: Any) -> bool:
    if path:
        return bool(path[0] == "hparams")
    return isinstance(value, Mapping) and "hparams" in value


def attrs_key(run_id: str, path: tuple[Any, ...]) -> bytes:
    """The key of the run's attribute node at ``path`` (present iff the attribute exists)."""
    return bytes(_attrs(run_id).pack(path))


def _after_attrs_write(tr: Transaction, run_id: str, path: tuple[Any, ...], value: Any) -> None:
    top_keys = [path[0]] if path else list(value) if isinstance(value, Mapping) else []
    params_catalogue.attrs_changed(tr, run_id, top_keys)
    if _touches_hparams(path, value):
        indexes.index_hparams(tr, run_id, tree_get(tr, _attrs(run_id), ("hparams",)))
    meta = _read_meta(tr, run_id)
    if meta is not None:
        tr.set(_meta_key(run_id), _meta_value(dataclasses.replace(meta, updated_at=time.time())))


def _meta_value(meta: RunMeta) -> bytes:
    fields = meta.to_dict()
    del fields["run_id"]
    return encode_value(fields)


def set_run_attrs(tr: Transaction, run_id: str, path: tuple[Any, ...], value: Any) -> None:
    """Replace the attribute subtree at ``path`` with ``value``.

    At the root, only the top-level keys ``value`` carries are replaced; other keys (``__blobs__``
    among them) stay. Writes that change ``hparams`` update the hparam index.
    """
    if not path:
        if not isinstance(value, Mapping):
            raise TypeError("attributes at the root must be a dict")
        if tr.get(_attrs(run_id).pack(())) is None:
            tree_set(tr, _attrs(run_id), (), {})
        for key, child in value.items():
            tree_set(tr, _attrs(run_id), (key,), child)
    else:
        tree_set(tr, _attrs(run_id), path, value)
    _after_attrs_write(tr, run_id, path, value)


def merge_run_attrs(tr: Transaction, run_id: str, path: tuple[Any, ...], value: Mapping[str, Any]) -> None:
    """Deep-merge the dict ``value`` into the attributes at ``path``."""
    tree_merge(tr, _attrs(run_id), path, value)
    _after_attrs_write(tr, run_id, path, value)


def set_context(tr: Transaction, run_id: str, context: Mapping[str, Any] | None) -> int:
    """Store the context dict of the run under its id (``context_to_id``) and return the id."""
    ctx = dict(context or {})
    context_id = context_to_id(ctx)
    key = RUNS.pack((run_id, _CONTEXTS, context_id))
    if tr.get(key) is None:
        tr.set(key, encode_value(ctx))
    return context_id


def get_context(tr: ReadTransaction, run_id: str, context_id: int) -> dict[str, Any] | None:
    """The context dict stored under ``context_id`` for the run."""
    raw = tr.get(RUNS.pack((run_id, _CONTEXTS, context_id)))
    if raw is None:
        return {} if context_id == 0 else None
    value: dict[str, Any] = decode_value(raw)
    return value


def get_contexts(tr: ReadTransaction, run_id: str) -> dict[int, dict[str, Any]]:
    """Every context of the run by id."""
    begin, end = RUNS.range((run_id, _CONTEXTS))
    return {RUNS.unpack(key)[-1]: decode_value(raw) for key, raw in tr.get_range(begin, end)}


def iter_run_ids(tr: ReadTransaction, *, after: str | None = None, limit: int = 0) -> Iterator[str]:
    """Every run id that has any data in the runs subspace, in id order, resuming after ``after``."""
    begin, end = RUNS.range(())
    if after is not None:
        begin = RUNS.range((after,))[1]
    count = 0
    while begin < end:
        rows = list(tr.get_range(begin, end, limit=1))
        if not rows:
            return
        run_id = RUNS.unpack(rows[0][0])[0]
        yield run_id
        count += 1
        if count == limit:
            return
        begin = RUNS.range((run_id,))[1]


def detach_experiment(tr: Transaction, experiment_id: str) -> list[str]:
    """Detach every run from a deleted experiment; returns the runs that were attached."""
    run_ids = indexes.lookup(tr, "experiment", experiment_id)
    for run_id in run_ids:
        if get_run(tr, run_id) is not None:
            update_run(tr, run_id, experiment_id=None)
    return run_ids


def detach_tag(tr: Transaction, tag_id: str) -> list[str]:
    """Unlink a deleted tag from every run; returns the runs that carried it."""
    run_ids = indexes.lookup(tr, "tag", tag_id)
    for run_id in run_ids:
        remove_run_tag(tr, run_id, tag_id)
    return run_ids


def _series_stats(summary: sequences.SeriesSummary) -> dict[str, Any]:
    return {"last": summary.last_value, "min": summary.min, "max": summary.max}


def write_run_series(
    tr: Transaction,
    key: sequences.SeriesKey,
    points: Sequence[sequences.Point],
    dtype: str,
    *,
    summary: sequences.SeriesSummary | sequences.Unread | None = sequences.UNREAD,
) -> sequences.SeriesSummary:
    """Write points of one of the run's series and keep the run's search indexes in step with it.

    :func:`sequences.write_points` keeps the series itself; this also records the trace name and moves
    the series' last/min/max index entries, in the same transaction. ``summary``: the series' current
    summary (``None``: no points yet) when the caller already read it in this transaction.
    """
    old = sequences.get_summary(tr, key) if isinstance(summary, sequences.Unread) else summary
    new = sequences.write_points(tr, key, points, dtype, summary=old)
    if old is None:
        indexes.index_trace(tr, key.run_id, key.name)
    indexes.index_series_stats(
        tr,
        key.run_id,
        key.name,
        key.context_id,
        None if old is None else _series_stats(old),
        _series_stats(new),
    )
    return new
