"""``/projects/params/``: every run's params merged, and each trace name's contexts by sequence type.

Answered from the store's params catalogue (:mod:`matyan_store.params_catalogue`), which the writers
keep in step with every attribute write, new series and run deletion: one read transaction over the
catalogue's summaries, whatever the number of runs. The route still caches the answer for a short time
(``PROJECT_PARAMS_CACHE_TTL``) and lets concurrent requests share one computation.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from matyan_models.sequence_kinds import SEQUENCE_KINDS, SequenceKind
from matyan_store.engine import Engine
from matyan_store.params_catalogue import ProjectParams, merge_params, read_project_params

__all__ = [
    "SEQUENCE_TYPES",
    "compute_project_params",
    "merge_params",
    "response_body",
]

SEQUENCE_TYPES: Final[tuple[SequenceKind, ...]] = (
    "metric",
    "images",
    "texts",
    "figures",
    "distributions",
    "audios",
)
# The response lists the kinds in this order (not the run info's); the set is the one rule's.
assert set(SEQUENCE_TYPES) == set(SEQUENCE_KINDS), "the route's sequence types are the sequence kinds"


def response_body(result: ProjectParams, *, sequences: Iterable[str], exclude_params: bool) -> dict[str, Any]:
    """The response: ``params`` (unless excluded) and all six buckets, unrequested ones empty."""
    kinds = frozenset(sequences)
    body: dict[str, Any] = {}
    if not exclude_params:
        body["params"] = result.params
    for kind in SEQUENCE_TYPES:
        body[kind] = result.traces[kind] if kind in kinds else {}
    return body


async def compute_project_params(
    engine: Engine, *, sequences: Iterable[SequenceKind], exclude_params: bool
) -> dict[str, Any]:
    """The response body, read from the params catalogue in one read transaction."""
    result = await engine.aread(read_project_params)
    return response_body(result, sequences=sequences, exclude_params=exclude_params)
