"""``POST /runs/{run_id}/metric/get-batch/``: sampled points of some metrics of one run, as JSON.

See docs/http-contract.md, Routes.

Each requested ``{name, context}`` that names a metric series of the run (equal context) comes back as
``{name, context, iters, values}``; others are dropped. ``record_range`` (``start:stop``, stop exclusive)
limits the steps, then the point-read sampling (docs/http-contract.md, Sampling) keeps at most
``record_density`` points (``<= 0``: all of them).

The chart rollups cannot answer this sampling: it wants the first stored step at or after arbitrary
target steps (and, for sparse series, points picked by their index), while rollups keep only the
first/min/max/last of aligned power-of-two buckets. Long series are instead read one narrow window
per target, which touches only the block holding it (:func:`read_sampled`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel

from matyan_api.deps import EngineDep
from matyan_api.errors import ApiError
from matyan_api.json_encoding import dumps_safe, json_safe
from matyan_api.routes.json_columns import json_int_array, json_number_array
from matyan_api.routes.runs_common import require_run
from matyan_api.routes.runs_sampling import RangeError, parse_range, point_read_sample, point_read_targets
from matyan_models import context_to_id
from matyan_models.sequence_kinds import is_metric_dtype
from matyan_store.engine import ReadTransaction
from matyan_store.runs import get_context
from matyan_store.sequences import Block, SeriesKey, SeriesSummary, get_summary, read_range

__all__ = ["MetricTraceOut", "TraceIn", "read_sampled", "router"]

router = APIRouter(prefix="/runs", tags=["runs"])

# Above this many points (and this many points per requested one) a whole-series request reads one
# narrow window per sampling target instead of every block: each window touches only the block holding
# it. The result is the same.
WINDOWED_READ_MIN_POINTS: Final = 20_000
WINDOWED_READ_MIN_RATIO: Final = 64


class TraceIn(BaseModel):
    """One requested trace: its name and context (both required)."""

    name: str
    context: dict[str, Any]


class MetricTraceOut(BaseModel):
    """One requested metric: its sampled steps and values (null where a value is not a finite number)."""

    name: str
    context: dict[str, Any]
    iters: list[int]
    values: list[float | None]


def _sampled(block: Block, n: int) -> tuple[Sequence[int], Sequence[Any]]:
    steps = block.steps
    if n <= 0 or len(block) <= n:
        return steps, block.values  # the whole columns, as read (arrays for numbers)
    picked = point_read_sample(steps, n)
    values = block.values
    return [steps[i] for i in picked], [values[i] for i in picked]


def _windowed(
    tr: ReadTransaction, key: SeriesKey, summary: SeriesSummary, n: int
) -> tuple[list[int], list[Any]] | None:
    """The point-read sample of a whole series read window by window; ``None`` if a window is empty.

    Target ``t_i`` takes the first step in ``[t_i, t_{i+1})``; an empty window means the series is
    sparse there, and the sampling then falls back to a full scan (the caller's job).
    """
    targets = point_read_targets(summary.first_step, summary.last_step, n)
    bounds = [*targets[1:], summary.last_step + 1]
    steps: list[int] = []
    values: list[Any] = []
    for start, stop in zip(targets, bounds, strict=True):
        window = read_range(tr, key, start, stop)
        if len(window) == 0:
            return None
        point = window.point(0)
        steps.append(point.step)
        values.append(point.value)
    return steps, values


def read_sampled(
    tr: ReadTransaction,
    key: SeriesKey,
    summary: SeriesSummary,
    start: int | None,
    stop: int | None,
    density: int,
) -> tuple[Sequence[int], Sequence[Any]]:
    """Steps and values of ``key`` within ``[start, stop)``, point-read sampled to ``density`` points."""
    # Bounds come from the query string: keep them within the series, where steps can be encoded (a
    # negative or 2**64 step is no key at all), so the store is never asked for an impossible one.
    if start is not None:
        start = max(start, 0)  # steps are never negative
    if stop is not None and stop > summary.last_step:
        stop = None
    if (start is not None and start > summary.last_step) or (stop is not None and stop <= (start or 0)):
        return [], []
    whole = start is None and stop is None
    windowed_from = max(WINDOWED_READ_MIN_POINTS, density * WINDOWED_READ_MIN_RATIO)
    if whole and density > 1 and summary.count >= windowed_from:
        found = _windowed(tr, key, summary, density)
        if found is not None and len(found[0]) >= density:
            return found
    return _sampled(read_range(tr, key, start, stop), density)


# The model documents the answer; the route renders the body itself (the columns as arrays, see
# json_columns), since validating up to millions of points through the model would cost more than
# reading them.
@router.post("/{run_id}/metric/get-batch/", response_model=list[MetricTraceOut])
async def get_metric_batch(
    run_id: str,
    traces: list[TraceIn],
    engine: EngineDep,
    record_range: str = "",
    record_density: int = 50,
) -> Response:
    """``[{name, context, iters, values}]`` for the requested metrics that exist; 404 for a missing run.

    A value that is not a finite number (NaN, infinity, an object) comes back as ``null``.
    """
    try:
        start, stop = parse_range(record_range)
    except RangeError as exc:
        raise ApiError(422, str(exc)) from None

    def read(tr: ReadTransaction) -> list[bytes]:
        """The body's pieces, joined once (the arrays may be tens of megabytes)."""
        require_run(tr, run_id)
        out: list[bytes] = []
        for trace in traces:
            context_id = context_to_id(trace.context)
            if get_context(tr, run_id, context_id) != trace.context:
                continue
            key = SeriesKey(run_id, context_id, trace.name)
            summary = get_summary(tr, key)
            if summary is None or not is_metric_dtype(summary.dtype):
                continue
            iters, values = read_sampled(tr, key, summary, start, stop, record_density)
            out += (
                b'{"name":' if not out else b',{"name":',
                dumps_safe(trace.name),
                b',"context":',
                dumps_safe(json_safe(trace.context)),
                b',"iters":',
                json_int_array(iters),
                b',"values":',
                json_number_array(values),
                b"}",
            )
        return out

    pieces = await engine.aread(read)
    return Response(b"".join([b"[", *pieces, b"]"]), media_type="application/json")
