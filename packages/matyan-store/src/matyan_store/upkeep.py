"""Index, run-count, params-catalogue and search-record upkeep of one write, in the writer's transaction.

The record and series writers (:mod:`matyan_store.run_records`, :mod:`matyan_store.sequences`) store
data and return what changed; :func:`apply` brings everything derived from it in step:

- a :class:`~matyan_store.run_records.MetaChange`: the run's field indexes, its experiment's run count,
  its place in the params catalogue; a run entering pending deletion leaves every index and its
  experiment's and tags' run counts;
- an :class:`~matyan_store.run_records.AttrsChange`: the catalogue's params under the written top-level
  keys, the run's search record and, when ``hparams`` was touched, the hparam index;
- a :class:`~matyan_store.run_records.TagLinkChange`: the tag index, the tag's run count and the run's
  search record;
- a :class:`~matyan_store.sequences.SeriesWrite`: the trace index, the series' last/min/max index entries
  and, for a new series or one whose dtype moved it to another kind, the catalogue's traces (appending
  points reads nothing here, and search records hold no trace statistics).

:mod:`matyan_store.runs` pairs every write with this call; nothing else writes derived data on a write.
"""

from __future__ import annotations

from typing import Any

from matyan_store import indexes, params_catalogue, search_records
from matyan_store.engine.base import Transaction
from matyan_store.entities import adjust_experiment_run_count, adjust_tag_run_count
from matyan_store.run_records import (
    AttrsChange,
    MetaChange,
    RunMeta,
    TagLinkChange,
    get_run,
    get_run_attrs,
    get_run_tag_ids,
)
from matyan_store.sequences import SeriesSummary, SeriesWrite

__all__ = ["Change", "apply"]

type Change = MetaChange | AttrsChange | TagLinkChange | SeriesWrite


def apply(tr: Transaction, change: Change) -> None:
    """Bring the indexes, run counts, params catalogue and search records in step with ``change``."""
    match change:
        case MetaChange():
            _meta_changed(tr, change.old, change.new)
        case AttrsChange():
            params_catalogue.attrs_changed(tr, change.run_id, change.top_keys)
            search_records.refresh_attrs(tr, change.run_id)
            if change.hparams:
                indexes.index_hparams(tr, change.run_id, get_run_attrs(tr, change.run_id, ("hparams",)))
        case TagLinkChange():
            _tag_link_changed(tr, change)
        case SeriesWrite():
            _series_written(tr, change)


def _live(meta: RunMeta | None) -> RunMeta | None:
    return None if meta is None or meta.pending_deletion else meta


def _meta_changed(tr: Transaction, old: RunMeta | None, new: RunMeta) -> None:
    run_id = new.run_id
    was, now = _live(old), _live(new)
    params_catalogue.run_meta_changed(tr, old, new)
    search_records.meta_changed(tr, old, new)
    if now is None:
        if was is not None:
            # Entering pending deletion: the run leaves every index and stops counting.
            indexes.deindex_run(tr, run_id)
            if was.experiment_id is not None:
                adjust_experiment_run_count(tr, was.experiment_id, -1)
            for tag_id in get_run_tag_ids(tr, run_id):
                adjust_tag_run_count(tr, tag_id, -1)
        return
    indexes.index_run_fields(
        tr,
        run_id,
        archived=now.archived,
        active=now.active,
        created_at=now.created_at,
        experiment_id=now.experiment_id,
    )
    old_exp = None if was is None else was.experiment_id
    if old_exp != now.experiment_id:
        if old_exp is not None:
            adjust_experiment_run_count(tr, old_exp, -1)
        if now.experiment_id is not None:
            adjust_experiment_run_count(tr, now.experiment_id, +1)


def _tag_link_changed(tr: Transaction, change: TagLinkChange) -> None:
    indexes.set_index_entry(tr, "tag", (change.tag_id,), change.run_id, present=change.linked)
    search_records.refresh_tags(tr, change.run_id)
    if change.linked:
        adjust_tag_run_count(tr, change.tag_id, +1)
    elif get_run(tr, change.run_id) is not None:
        # A run pending deletion stopped counting for its tags when it entered that state.
        adjust_tag_run_count(tr, change.tag_id, -1)


def _stats(summary: SeriesSummary) -> dict[str, Any]:
    return {"last": summary.last_value, "min": summary.min, "max": summary.max}


def _series_written(tr: Transaction, change: SeriesWrite) -> None:
    key, old, new = change.key, change.old, change.new
    if old is None:
        indexes.index_trace(tr, key.run_id, key.name)
    indexes.index_series_stats(
        tr, key.run_id, key.name, key.context_id, None if old is None else _stats(old), _stats(new)
    )
    params_catalogue.series_written(tr, key, None if old is None else old.dtype, new.dtype)
