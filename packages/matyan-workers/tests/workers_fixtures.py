"""Helpers for the worker tests: an LMDB engine in tmp_path and messages shaped as the frontier makes them.

Frames are validated with the released matyan-api-models 0.2.1 (what the frontier 0.3.0 runs), then
mapped to the Kafka value the frontier publishes (docs/architecture.md, The frontier).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from matyan_api_models.kafka import IngestionMessage as ReleasedIngestionMessage
from matyan_api_models.ws import WsRequestTAdapter as ReleasedWsAdapter

from matyan_models.ingestion import ws_frame_to_ingestion_message
from matyan_models.ws import WsRequestTAdapter
from matyan_store.engine import Engine, open_engine
from matyan_workers.ingest.batching import Record

CLIENT_DT = "2026-03-20T12:00:00+00:00"


def lmdb_url(path: Path) -> str:
    """An LMDB engine URL without fsync (tests do not need durability across power loss)."""
    return f"lmdb://{path}?sync=false"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """A fresh LMDB store for one test."""
    with open_engine(lmdb_url(tmp_path / "kv")) as opened:
        yield opened


def frontier_value(run_id: str, item: dict[str, Any]) -> bytes:
    """The Kafka value the frontier 0.3.0 publishes for one frame item sent on ``run_id``'s socket."""
    item = {**item, "run_id": run_id}
    ReleasedWsAdapter.validate_python(item)  # the released frontier would accept this frame
    frame = WsRequestTAdapter.validate_python(item)
    value = ws_frame_to_ingestion_message(frame).model_dump_json().encode()
    ReleasedIngestionMessage.model_validate_json(value)  # and the released envelope reads it back
    return value


def delete_value(run_id: str) -> bytes:
    """The ``delete_run`` message the API publishes (0.2.1 shape, payload ``{}``)."""
    return (
        ReleasedIngestionMessage(type="delete_run", run_id=run_id, timestamp=datetime.now(UTC), payload={})
        .model_dump_json()
        .encode()
    )


def metric(
    name: str,
    value: float,
    step: int | None,
    *,
    context: dict[str, Any] | None = None,
    dtype: str = "float",
    epoch: int | None = None,
) -> dict[str, Any]:
    """A ``log_metric`` frame item (every field present, as the WS model requires)."""
    return {
        "type": "log_metric",
        "name": name,
        "value": value,
        "step": step,
        "epoch": epoch,
        "context": context,
        "dtype": dtype,
        "client_datetime": CLIENT_DT,
    }


class Feed:
    """Numbers records of one topic partition consecutively, like a broker would."""

    def __init__(self, topic: str = "t", partition: int = 0) -> None:
        self.topic = topic
        self.partition = partition
        self._offsets = itertools.count()

    def records(self, values: Sequence[bytes], key: str = "k") -> list[Record]:
        """Records for ``values`` at the next offsets."""
        return [Record(self.topic, self.partition, next(self._offsets), key.encode(), v) for v in values]
