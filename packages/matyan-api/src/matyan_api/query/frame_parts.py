"""What a run's search frame carries besides its props: ``params`` and ``traces.metric``.

Read from the store per run (docs/http-contract.md, Streaming frames); the run, metric and custom-object
searches build them in the search processes, and :mod:`matyan_api.query.run_records_source` encodes a
run search frame from a search record with the same ``traces.metric``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from matyan_models.sequence_kinds import BLOBS_ATTR, SYSTEM_PARAMS_ATTR, is_metric_dtype
from matyan_store.engine import ReadTransaction
from matyan_store.runs import get_contexts, get_run_attrs
from matyan_store.sequences import list_run_series

__all__ = ["metric_last", "metric_trace_summaries", "run_params"]


def run_params(tr: ReadTransaction, run_id: str, *, skip_system: bool) -> dict[str, Any]:
    """The run's attributes minus ``__blobs__`` (and ``__system_params`` with ``skip_system``)."""
    attrs = get_run_attrs(tr, run_id)
    params = dict(attrs) if isinstance(attrs, Mapping) else {}
    params.pop(BLOBS_ATTR, None)
    if skip_system:
        params.pop(SYSTEM_PARAMS_ATTR, None)
    return params


def metric_last(value: Any) -> float:
    """A summary's last value as a float for the stream (non-numbers: 0.0; NaN stays NaN)."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    return 0.0


def metric_trace_summaries(tr: ReadTransaction, run_id: str, *, full: bool) -> list[dict[str, Any]]:
    """``traces.metric`` of run search (``full``: last, last_step, first, min, max) or active runs.

    Only metric dtypes, in storage order (context id, name). ``first``/``min``/``max`` repeat ``last``
    as the reference does: the UI's run table reads them as the latest value.
    """
    contexts = get_contexts(tr, run_id)
    out: list[dict[str, Any]] = []
    for key, summary in list_run_series(tr, run_id):
        if not is_metric_dtype(summary.dtype):
            continue
        last = metric_last(summary.last_value)
        values: dict[str, Any] = {"last": last, "last_step": summary.last_step}
        if full:
            values.update(first=last, min=last, max=last)
        out.append({"name": key.name, "context": contexts.get(key.context_id, {}), "values": values})
    return out
