"""``GET /runs/{run_id}/logs/`` and ``GET /runs/{run_id}/log-records/``: binary streams.

See docs/http-contract.md, Routes.

Terminal lines live in the series ``logs`` and structured records in ``__log_records``, both in the
empty context. Without ``record_range`` the last 200 steps are sent; a single bound takes the other one
from the series. One frame per line ``{step: line}`` (records: ``{step: record}``, after a first
``{"log_records_count": n}`` frame). A missing run or series is an empty stream, never a 404.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from matyan_api.deps import EngineDep
from matyan_api.errors import ApiError
from matyan_api.routes.runs_sampling import RangeError, parse_range
from matyan_api.routes.search_common import stream_response
from matyan_api.streaming import coalesce, encode_tree_bytes
from matyan_models import context_to_id
from matyan_models.sequence_kinds import LOG_RECORDS_SEQUENCE, LOGS_SEQUENCE
from matyan_store.engine import ReadTransaction
from matyan_store.sequences import Block, SeriesKey, get_summary, read_range

__all__ = ["DEFAULT_TAIL", "log_window", "normalize_record", "router"]

router = APIRouter(prefix="/runs", tags=["runs"])

DEFAULT_TAIL: Final = 200
_LEVELS: Final = {10: "DEBUG", 20: "INFO", 30: "WARNING", 40: "ERROR", 50: "CRITICAL"}


def log_window(first: int, last: int, start: int | None, stop: int | None) -> tuple[int, int]:
    """The ``[start, stop)`` steps to send: the last 200 by default, missing bounds from the series."""
    if start is None and stop is None:
        return max(last - (DEFAULT_TAIL - 1), first), last + 1
    # A stop past the series' end means its end (and a query-string stop may be past any encodable step).
    return (first if start is None else max(start, 0)), (last + 1 if stop is None else min(stop, last + 1))


def normalize_record(value: Any) -> dict[str, Any]:
    """A stored log record as the UI shows it: level names, defaults, ``is_notified`` set."""
    if not isinstance(value, Mapping):
        return {"message": str(value)}
    record = dict(value)
    level = record.get("log_level")
    if isinstance(level, int) and not isinstance(level, bool):
        record["log_level"] = _LEVELS.get(level, "INFO")
    record.setdefault("timestamp", 0)
    record.setdefault("args", None)
    record["is_notified"] = True
    return record


def _read(
    tr: ReadTransaction, run_id: str, name: str, rng: tuple[int | None, int | None]
) -> tuple[int, Block | None]:
    """``(total points, the window's points)`` of a log series; ``(0, None)`` when it does not exist."""
    key = SeriesKey(run_id, context_to_id({}), name)
    summary = get_summary(tr, key)
    if summary is None:
        return 0, None
    start, stop = log_window(summary.first_step, summary.last_step, *rng)
    return summary.count, read_range(tr, key, start, stop)


def _range(record_range: str) -> tuple[int | None, int | None]:
    try:
        return parse_range(record_range)
    except RangeError as exc:
        raise ApiError(422, str(exc)) from None


@router.get("/{run_id}/logs/", response_class=StreamingResponse)
async def run_logs(run_id: str, engine: EngineDep, record_range: str = "") -> StreamingResponse:
    """The run's terminal lines, one frame per line ``{step: line}``."""
    rng = _range(record_range)

    def read(tr: ReadTransaction) -> list[bytes]:
        _, block = _read(tr, run_id, LOGS_SEQUENCE, rng)
        if block is None:
            return []
        return [
            encode_tree_bytes(
                (point.step,), point.value if isinstance(point.value, str) else str(point.value)
            )
            for point in block.points()
        ]

    frames = await engine.aread(read)
    return stream_response(coalesce(frames))


@router.get("/{run_id}/log-records/", response_class=StreamingResponse)
async def run_log_records(run_id: str, engine: EngineDep, record_range: str = "") -> StreamingResponse:
    """``{"log_records_count": n}`` (every record, whatever the range), then ``{step: record}`` frames."""
    rng = _range(record_range)

    def read(tr: ReadTransaction) -> list[bytes]:
        count, block = _read(tr, run_id, LOG_RECORDS_SEQUENCE, rng)
        frames = [encode_tree_bytes(("log_records_count",), count)]
        if block is not None:
            frames.extend(
                encode_tree_bytes((point.step,), normalize_record(point.value)) for point in block.points()
            )
        return frames

    frames = await engine.aread(read)
    return stream_response(coalesce(frames))
