"""Building query views from the store (one read transaction, no evaluation here)."""

from __future__ import annotations

from matyan_api.query.views import RunView, SequenceView, TraceInfo
from matyan_models.sequence_kinds import is_metric_dtype
from matyan_store import entities, runs, sequences
from matyan_store.engine.base import ReadTransaction

__all__ = [
    "load_run_view",
    "load_trace_infos",
    "sequence_views",
]


def load_trace_infos(tr: ReadTransaction, run_id: str) -> list[TraceInfo]:
    """Every sequence summary of the run as :class:`TraceInfo`, ordered by (context id, name)."""
    contexts = runs.get_contexts(tr, run_id)
    infos = []
    for key, summary in sequences.list_run_series(tr, run_id):
        infos.append(
            TraceInfo(
                name=key.name,
                context=contexts.get(key.context_id, {}),
                context_id=key.context_id,
                dtype=summary.dtype,
                last=summary.last_value,
                last_step=summary.last_step,
                first_step=summary.first_step,
                min=summary.min,
                max=summary.max,
                count=summary.count,
            )
        )
    return infos


def load_run_view(
    tr: ReadTransaction,
    run_id: str,
    *,
    with_traces: bool = False,
    meta: runs.RunMeta | None = None,
    traces: list[TraceInfo] | None = None,
    names: dict[tuple[str, str], str | None] | None = None,
) -> RunView | None:
    """The run as a query sees it; ``None`` if it is missing or pending deletion.

    ``with_traces`` also reads the sequence summaries (for ``run.metrics[...]``); otherwise
    ``run.metrics`` is empty. ``meta`` / ``traces``: already read in this transaction (not read again).
    ``names``: a cache of tag and experiment names by id, shared by the runs of one search (a scan
    would otherwise read the same few entities once per run).
    """
    if meta is None:
        meta = runs.get_run(tr, run_id)
    if meta is None:
        return None
    cache = {} if names is None else names
    attrs = runs.get_run_attrs(tr, run_id)
    tag_names = []
    for tag_id in runs.get_run_tag_ids(tr, run_id):
        tag_name = _name(tr, cache, "tag", tag_id)
        if tag_name is not None:
            tag_names.append(tag_name)
    experiment = None if meta.experiment_id is None else _name(tr, cache, "experiment", meta.experiment_id)
    if traces is None:
        traces = load_trace_infos(tr, run_id) if with_traces else []
    return RunView(
        run_id,
        meta.to_dict(),
        attrs if isinstance(attrs, dict) else {},
        tag_names,
        experiment,
        traces,
    )


def _name(
    tr: ReadTransaction, cache: dict[tuple[str, str], str | None], kind: str, entity_id: str
) -> str | None:
    key = (kind, entity_id)
    if key not in cache:
        found = entities.get_tag(tr, entity_id) if kind == "tag" else entities.get_experiment(tr, entity_id)
        cache[key] = None if found is None else found.name
    return cache[key]


def sequence_views(run: RunView, infos: list[TraceInfo], *, metrics_only: bool = True) -> list[SequenceView]:
    """Views of the run's sequences (only metric dtypes unless ``metrics_only`` is False)."""
    return [SequenceView(info, run) for info in infos if not metrics_only or is_metric_dtype(info.dtype)]
