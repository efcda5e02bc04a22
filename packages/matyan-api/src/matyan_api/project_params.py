"""``/projects/params/``: every run's params merged, and each trace name's contexts by sequence type.

Computed from bounded reads: runs are paged through the ``created_at`` index, :data:`RUNS_PER_READ` per
read transaction, so no transaction grows with the project. The result is cached for a short time
(``PROJECT_PARAMS_CACHE_TTL``). A catalogue kept up to date by the writers (param keys and trace
names with their contexts) belongs in the store and would make this a single read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Final, Literal, get_args

from matyan_store import indexes, runs
from matyan_store.engine import Engine, ReadTransaction
from matyan_store.sequences import list_run_series

__all__ = [
    "SEQUENCE_TYPES",
    "ParamsResult",
    "SequenceType",
    "bucket_of_dtype",
    "compute_project_params",
    "merge_params",
]

SequenceType = Literal["metric", "images", "texts", "figures", "distributions", "audios"]
SEQUENCE_TYPES: Final[tuple[SequenceType, ...]] = get_args(SequenceType)

RUNS_PER_READ: Final = 200
HIDDEN_PARAMS: Final = frozenset({"__system_params", "__blobs__"})
# Terminal logs and log records are sequences too, but never chartable traces.
_SKIPPED_DTYPES: Final = frozenset({"logs", "log", "log_records", "log_record", "terminal_logs"})
_SKIPPED_NAMES: Final = frozenset({"logs", "__log_records"})
_BUCKETS: Final[dict[str, SequenceType]] = {
    "image": "images",
    "images": "images",
    "text": "texts",
    "texts": "texts",
    "distribution": "distributions",
    "distributions": "distributions",
    "audio": "audios",
    "audios": "audios",
    "figure": "figures",
    "figures": "figures",
}


def bucket_of_dtype(dtype: str, name: str) -> SequenceType | None:
    """Which response bucket a trace belongs to (``None``: not shown, e.g. terminal logs)."""
    if dtype in _SKIPPED_DTYPES or name in _SKIPPED_NAMES:
        return None
    return _BUCKETS.get(dtype, "metric")


def merge_params(into: dict[str, Any], params: Mapping[str, Any]) -> None:
    """Merge ``params`` into ``into``: dicts recursively, anything else replaced (last one wins)."""
    for key, value in params.items():
        current = into.get(key)
        if isinstance(value, Mapping) and isinstance(current, dict):
            merge_params(current, value)
        elif isinstance(value, Mapping):
            fresh: dict[str, Any] = {}
            merge_params(fresh, value)
            into[key] = fresh
        else:
            into[key] = value


@dataclass
class ParamsResult:
    """The pieces of the response: merged params and, per bucket, trace name -> distinct contexts."""

    params: dict[str, Any] = field(default_factory=dict)
    traces: dict[SequenceType, dict[str, list[dict[str, Any]]]] = field(
        default_factory=lambda: {kind: {} for kind in SEQUENCE_TYPES}
    )

    def add_trace(self, kind: SequenceType, name: str, context: dict[str, Any]) -> None:
        contexts = self.traces[kind].setdefault(name, [])
        if context not in contexts:
            contexts.append(context)


def _read_page(
    tr: ReadTransaction,
    after: tuple[float, str] | None,
    want_params: bool,
    kinds: frozenset[SequenceType],
    result: ParamsResult,
) -> tuple[float, str] | None:
    last: tuple[float, str] | None = None
    for created_at, run_id in indexes.iter_created_at(tr, after=after, limit=RUNS_PER_READ):
        last = (created_at, run_id)
        if runs.get_run(tr, run_id) is None:  # pending deletion (or gone)
            continue
        if want_params:
            attrs = runs.get_run_attrs(tr, run_id)
            if isinstance(attrs, Mapping):
                merge_params(result.params, {k: v for k, v in attrs.items() if k not in HIDDEN_PARAMS})
        if kinds:
            _add_run_traces(tr, run_id, kinds, result)
    return last


def _add_run_traces(
    tr: ReadTransaction, run_id: str, kinds: frozenset[SequenceType], result: ParamsResult
) -> None:
    series = list_run_series(tr, run_id)
    if not series:
        return
    contexts = runs.get_contexts(tr, run_id)
    for key, summary in series:
        kind = bucket_of_dtype(summary.dtype, key.name)
        if kind is None or kind not in kinds:
            continue
        result.add_trace(kind, key.name, dict(contexts.get(key.context_id) or {}))


async def compute_project_params(
    engine: Engine, *, sequences: Iterable[SequenceType], exclude_params: bool
) -> dict[str, Any]:
    """The response body: ``params`` (unless excluded) and all six buckets, unrequested ones empty."""
    kinds = frozenset(sequences)
    result = ParamsResult()
    after: tuple[float, str] | None = None
    want_params = not exclude_params
    while True:
        after = await engine.aread(
            partial(_read_page, after=after, want_params=want_params, kinds=kinds, result=result)
        )
        if after is None:
            break
    body: dict[str, Any] = {}
    if not exclude_params:
        body["params"] = result.params
    for kind in SEQUENCE_TYPES:
        body[kind] = result.traces[kind]
    return body
