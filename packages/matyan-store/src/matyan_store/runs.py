"""Runs: creating, changing and deleting them with everything derived kept in step, and reading them.

Each write is two visible steps in the caller's transaction: the record or series writer stores the
data and says what changed (:mod:`matyan_store.run_records`, :mod:`matyan_store.sequences`), then
:func:`matyan_store.upkeep.apply` updates the indexes, the entities' run counts and the params catalogue
from that. Functions take a transaction and never open one, so callers combine them freely.

The reads are :mod:`matyan_store.run_records`'; they are listed here too so callers find the whole run
API in one module.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from typing import Any

from matyan_store import indexes, run_records, sequences, tombstones, upkeep
from matyan_store.engine.base import Transaction
from matyan_store.run_records import (
    META_FIELDS,
    RunExists,
    RunMeta,
    RunNotFound,
    attrs_key,
    default_run_name,
    get_context,
    get_contexts,
    get_run,
    get_run_attrs,
    get_run_tag_ids,
    get_runs,
    iter_run_ids,
    read_meta,
    set_context,
)
from matyan_store.sequences import UNREAD, Point, SeriesKey, SeriesSummary, SeriesWrite, Unread

__all__ = [
    "RunExists",
    "RunMeta",
    "RunNotFound",
    "add_run_tag",
    "attrs_key",
    "create_run",
    "default_run_name",
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


def _write_meta(tr: Transaction, old: RunMeta | None, meta: RunMeta) -> None:
    upkeep.apply(tr, run_records.write_meta(tr, old, meta))


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
    old = read_meta(tr, run_id)
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
    meta = read_meta(tr, run_id)
    if meta is not None:
        return meta
    return create_run(tr, run_id, created_at=created_at)


def update_run(tr: Transaction, run_id: str, **fields: Any) -> RunMeta:
    """Change some meta fields (name, description, archived, active, finalized_at, duration, ...).

    ``experiment_id`` goes through :func:`set_run_experiment` semantics (counts and index follow).
    Raises :class:`RunNotFound` for a missing or pending-deletion run.
    """
    unknown = set(fields) - META_FIELDS
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
    _write_meta(tr, old, dataclasses.replace(old, pending_deletion=True, updated_at=time.time()))
    return True


def delete_run_data(tr: Transaction, run_id: str, *, max_bytes: int, now: float | None = None) -> bool:
    """Remove the run's meta, attributes, contexts, links, index entries and sequences, in pieces.

    Each call stays within about ``max_bytes`` of mutations; it returns ``True`` once everything is gone,
    at which point a tombstone with the deletion time is in place. Call it in fresh transactions until
    it returns ``True``; repeating a finished deletion is harmless.
    """
    meta = read_meta(tr, run_id)
    if meta is not None:
        if not meta.pending_deletion:
            mark_pending_deletion(tr, run_id)
        # Entries a writer added after the run went pending (none should) go with its records.
        indexes.deindex_run(tr, run_id)
        run_records.clear_run_records(tr, run_id)
    if not sequences.delete_run_series(tr, run_id, max_bytes):
        return False
    tombstones.mark_deleted(tr, run_id, time.time() if now is None else now)
    return True


def add_run_tag(tr: Transaction, run_id: str, tag_id: str) -> bool:
    """Link a tag to the run; returns ``False`` if it was already linked (nothing counted twice)."""
    if get_run(tr, run_id) is None:
        raise RunNotFound(run_id)
    change = run_records.link_tag(tr, run_id, tag_id)
    if change is None:
        return False
    upkeep.apply(tr, change)
    return True


def remove_run_tag(tr: Transaction, run_id: str, tag_id: str) -> bool:
    """Unlink a tag from the run; returns ``False`` if it was not linked."""
    change = run_records.unlink_tag(tr, run_id, tag_id)
    if change is None:
        return False
    upkeep.apply(tr, change)
    return True


def set_run_attrs(tr: Transaction, run_id: str, path: tuple[Any, ...], value: Any) -> None:
    """Replace the attribute subtree at ``path`` with ``value``.

    At the root, only the top-level keys ``value`` carries are replaced; other keys (``__blobs__``
    among them) stay. Writes that change ``hparams`` update the hparam index.
    """
    upkeep.apply(tr, run_records.set_attrs(tr, run_id, path, value))


def merge_run_attrs(tr: Transaction, run_id: str, path: tuple[Any, ...], value: Mapping[str, Any]) -> None:
    """Deep-merge the dict ``value`` into the attributes at ``path``."""
    upkeep.apply(tr, run_records.merge_attrs(tr, run_id, path, value))


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


def write_run_series(
    tr: Transaction,
    key: SeriesKey,
    points: Sequence[Point],
    dtype: str,
    *,
    summary: SeriesSummary | Unread | None = UNREAD,
) -> SeriesSummary:
    """Write points of one of the run's series, then keep its indexes and the params catalogue in step.

    ``summary``: the series' current summary (``None``: no points yet) when the caller already read it in
    this transaction.
    """
    old = sequences.get_summary(tr, key) if isinstance(summary, Unread) else summary
    new = sequences.write_points(tr, key, points, dtype, summary=old)
    upkeep.apply(tr, SeriesWrite(key, old, new))
    return new
