"""Query timing lines and planner-path counts of the custom-object search.

See docs/http-contract.md, Query language.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from api_custom_objects_fixtures import (
    BASE,
    custom_objects_harness,
    runs_blobs,
    runs_engine,
    runs_publisher,
    store_blob_objects,
)
from api_runs_fixtures import make_run
from api_search_helpers import get_stream, split_frames
from loguru import logger
from prometheus_client.parser import text_string_to_metric_families

from matyan_api.kafka_publisher import RecordingPublisher
from matyan_api.settings import ApiSettings
from matyan_store.blobs import BlobStore
from matyan_store.engine import Engine

__all__ = ["runs_blobs", "runs_engine", "runs_publisher"]

SEARCH = f"{BASE}/runs/search/images/"


@pytest.fixture
def timing_messages() -> Iterator[list[str]]:
    """Every ``(QUERY_TIMING)`` message logged during the test."""
    lines: list[str] = []

    def sink(message: Any) -> None:
        if message.record["message"].startswith("(QUERY_TIMING)"):
            lines.append(message.record["message"])

    handle = logger.add(sink, level="INFO")
    yield lines
    logger.remove(handle)


def _fields(line: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in line.split()[1:])


def _planner_counts(text: str) -> dict[tuple[str, str, str], float]:
    out: dict[tuple[str, str, str], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "matyan_planner_path_total":
                out[(sample.labels["path"], sample.labels["endpoint"], sample.labels["reason"])] = (
                    sample.value
                )
    return out


@pytest.mark.parametrize(
    ("q", "labels", "path", "visited"),
    [
        # The trace index names r1 only; a scan visits both runs.
        ('images.name == "grid"', ("fast", "iter_matching_sequences", ""), "candidate", [("r1", "1")]),
        (
            'run.name == "a" or run.archived == True',
            ("lazy", "iter_matching_sequences", "no_candidates"),
            "lazy",
            [("r1", "1"), ("r2", "0")],
        ),
    ],
)
async def test_timing_lines_and_planner_path(
    runs_engine: Engine,
    runs_blobs: BlobStore,
    runs_publisher: RecordingPublisher,
    timing_messages: list[str],
    q: str,
    labels: tuple[str, str, str],
    path: str,
    visited: list[tuple[str, str]],
) -> None:
    settings = ApiSettings(otel_exporter_otlp_endpoint="", query_timing_enabled=True)
    async with custom_objects_harness(runs_engine, runs_blobs, runs_publisher, settings) as h:
        make_run(h.engine, "r1", name="a")
        make_run(h.engine, "r2", name="b")
        await store_blob_objects(h, "r1", "grid", [1, 1])
        before = _planner_counts((await h.client.get("/metrics/")).text)
        data, _ = split_frames(await get_stream(h.client, SEARCH, q=q))
        after = _planner_counts((await h.client.get("/metrics/")).text)
    assert [run for run, _ in data] == ["r1"]
    assert {k for k, v in after.items() if v != before.get(k, 0.0)} == {labels}
    entries = [_fields(line) for line in timing_messages]
    assert {e["endpoint"] for e in entries} == {"iter_matching_sequences"}
    assert {e["path"] for e in entries} == {path}
    assert entries[0]["step"] == "plan_query"
    assert entries[-1]["step"] == "summary"
    assert entries[-1]["runs_matched"] == "1"
    assert entries[-1]["trace_matches"] == "1"
    loops = [(e["run_hash"], e["matches"]) for e in entries if e["step"] == "trace_loop"]
    assert loops == visited


async def test_disabled_timing_logs_nothing(
    runs_engine: Engine, runs_blobs: BlobStore, runs_publisher: RecordingPublisher, timing_messages: list[str]
) -> None:
    settings = ApiSettings(otel_exporter_otlp_endpoint="", query_timing_enabled=False)
    async with custom_objects_harness(runs_engine, runs_blobs, runs_publisher, settings) as h:
        make_run(h.engine, "r1")
        await store_blob_objects(h, "r1", "grid", [1])
        data, _ = split_frames(await get_stream(h.client, SEARCH))
    assert [run for run, _ in data] == ["r1"]
    assert timing_messages == []
