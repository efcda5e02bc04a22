"""Query timing lines and the planner-path counter of the search routes.

See docs/http-contract.md, Query language.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from api_runs_fixtures import BASE, make_run, runs_blobs, runs_engine, runs_publisher
from api_search_helpers import get_stream, split_frames, write_series
from loguru import logger
from prometheus_client.parser import text_string_to_metric_families

from matyan_api.app import create_app
from matyan_api.kafka_publisher import RecordingPublisher
from matyan_api.query.timing import QueryTimer
from matyan_api.settings import ApiSettings
from matyan_store.blobs import BlobStore
from matyan_store.engine import Engine

__all__ = ["runs_blobs", "runs_engine", "runs_publisher"]

RUN_SEARCH = f"{BASE}/runs/search/run/"
METRIC_SEARCH = f"{BASE}/runs/search/metric/"

# The timing line format, exactly.
LINE = re.compile(
    r"^\(QUERY_TIMING\) step=(?P<step>\w+) path=(?P<path>\w*) endpoint=(?P<endpoint>\w+)"
    r" run_index=(?P<index>-?\d+)(?: run_hash=(?P<hash>\S+))?"
    r" duration_sec=(?P<dur>\d+\.\d{6})(?: (?P<extra>.*))?$"
)
# Unindexed (an OR with an unindexed side), and mentioning ``run.archived`` keeps the default
# ``run.is_archived == False`` (an index) out of the query.
LAZY_Q = 'run.name == "run-1" or run.archived == True'
# The default archived clause gives candidates that ``run.name`` must then check.
SUPERSET_Q = 'run.name == "run-1"'


@pytest.fixture
def timing_lines() -> Iterator[list[str]]:
    """Every ``(QUERY_TIMING)`` message logged during the test, in order (a loguru sink)."""
    lines: list[str] = []

    def sink(message: Any) -> None:
        record = message.record
        if record["message"].startswith("(QUERY_TIMING)"):
            assert record["level"].name == "INFO"
            lines.append(record["message"])

    handle = logger.add(sink, level="INFO")
    yield lines
    logger.remove(handle)


async def _client(
    engine: Engine, blobs: BlobStore, publisher: RecordingPublisher, *, timing: bool
) -> httpx.AsyncClient:
    settings = ApiSettings(otel_exporter_otlp_endpoint="", query_timing_enabled=timing)
    app = create_app(settings, engine=engine, blobs=blobs, publisher=publisher)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


@pytest.fixture
async def timed_client(
    runs_engine: Engine, runs_blobs: BlobStore, runs_publisher: RecordingPublisher
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app with ``query_timing_enabled``."""
    async with await _client(runs_engine, runs_blobs, runs_publisher, timing=True) as client:
        yield client


def _seed(engine: Engine) -> None:
    for i, run_id in enumerate(("r1", "r2", "r3")):
        make_run(engine, run_id, name=f"run-{i}", created_at=1000.0 + i)
        write_series(engine, run_id, "loss", [0.5, 0.4, 0.3 - i / 10], context={"subset": "train"})


def _parsed(lines: list[str]) -> list[dict[str, str]]:
    out = []
    for line in lines:
        match = LINE.match(line)
        assert match is not None, line
        out.append({k: v or "" for k, v in match.groupdict().items()})
    return out


def _extra(entry: dict[str, str]) -> dict[str, str]:
    return dict(part.split("=", 1) for part in entry["extra"].split())


async def test_run_search_exact_path_logs_only_the_plan(
    timed_client: httpx.AsyncClient, runs_engine: Engine, timing_lines: list[str]
) -> None:
    _seed(runs_engine)
    await get_stream(timed_client, RUN_SEARCH, q='run.hash == "r2"')
    entries = _parsed(timing_lines)
    assert [(e["step"], e["path"], e["endpoint"]) for e in entries] == [("plan_query", "exact", "run_search")]


async def test_run_search_lazy_path_logs_each_run_and_a_summary(
    timed_client: httpx.AsyncClient, runs_engine: Engine, timing_lines: list[str]
) -> None:
    _seed(runs_engine)
    data, _ = split_frames(await get_stream(timed_client, RUN_SEARCH, q=LAZY_Q))
    assert [run for run, _ in data] == ["r2"]
    entries = _parsed(timing_lines)
    assert {e["path"] for e in entries} == {"lazy"}
    assert {e["endpoint"] for e in entries} == {"run_search"}
    steps = [(e["step"], e["index"], e["hash"]) for e in entries]
    expected = [("plan_query", "-1", "")]
    for index, run_id in enumerate(("r1", "r2", "r3")):
        expected += [(s, str(index), run_id) for s in ("fetch_meta", "build_run_view", "check")]
    expected.append(("summary", "-1", ""))
    assert steps == expected
    summary = _extra(entries[-1])
    assert list(summary) == [
        "runs_checked",
        "runs_matched",
        "total_fetch_sec",
        "total_build_sec",
        "total_check_sec",
    ]
    assert (summary["runs_checked"], summary["runs_matched"]) == ("3", "1")


async def test_run_search_superset_path(
    timed_client: httpx.AsyncClient, runs_engine: Engine, timing_lines: list[str]
) -> None:
    _seed(runs_engine)
    data, _ = split_frames(await get_stream(timed_client, RUN_SEARCH, q=SUPERSET_Q))
    assert [run for run, _ in data] == ["r2"]
    entries = _parsed(timing_lines)
    assert [e["step"] for e in entries] == [
        "plan_query",
        *["fetch_meta", "build_run_view", "check"] * 3,
        "summary",
    ]
    assert {e["path"] for e in entries} == {"superset"}


async def test_metric_candidate_path_single_run(
    timed_client: httpx.AsyncClient, runs_engine: Engine, timing_lines: list[str]
) -> None:
    _seed(runs_engine)
    data, _ = split_frames(await get_stream(timed_client, METRIC_SEARCH, q='run.hash == "r3"'))
    assert [run for run, _ in data] == ["r3"]
    entries = _parsed(timing_lines)
    assert {(e["path"], e["endpoint"]) for e in entries} == {("candidate", "metric_search")}
    assert [e["step"] for e in entries] == [
        "plan_query",
        "fetch_bundles",
        "build_run_view_and_check",
        "collect_traces",
        "summary",
    ]
    assert _extra(entries[1])["batch_size"] == "1"
    assert entries[2]["hash"] == "r3"
    summary = _extra(entries[-1])
    assert (summary["runs_checked"], summary["runs_matched"]) == ("1", "1")


async def test_disabled_means_no_lines(
    runs_engine: Engine, runs_blobs: BlobStore, runs_publisher: RecordingPublisher, timing_lines: list[str]
) -> None:
    _seed(runs_engine)
    async with await _client(runs_engine, runs_blobs, runs_publisher, timing=False) as client:
        await get_stream(client, RUN_SEARCH, q=LAZY_Q)
        await get_stream(client, METRIC_SEARCH)
    assert timing_lines == []


def test_timer_line_format(timing_lines: list[str]) -> None:
    timer = QueryTimer(True, "iter_matching_sequences", path="lazy")
    timer.log("trace_loop", 0.25, run_index=4, run_hash="abc", extra="traces_checked=3 matches=1")
    assert timing_lines == [
        "(QUERY_TIMING) step=trace_loop path=lazy endpoint=iter_matching_sequences run_index=4 run_hash=abc"
        " duration_sec=0.250000 traces_checked=3 matches=1"
    ]


def _planner_samples(text: str) -> dict[tuple[str, str, str], float]:
    out: dict[tuple[str, str, str], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "matyan_planner_path_total":
                labels = sample.labels
                out[(labels["path"], labels["endpoint"], labels["reason"])] = sample.value
    return out


@pytest.mark.parametrize(
    ("url", "q", "labels"),
    [
        (RUN_SEARCH, 'run.hash == "r1"', ("fast", "run_search", "exact")),
        (RUN_SEARCH, SUPERSET_Q, ("fast", "run_search", "superset")),
        (RUN_SEARCH, LAZY_Q, ("lazy", "run_search", "no_candidates")),
        (METRIC_SEARCH, 'metric.name == "loss"', ("fast", "metric_search", "")),
        (METRIC_SEARCH, 'metric.name.startswith("lo")', ("lazy", "metric_search", "unindexed_sequence")),
        (METRIC_SEARCH, LAZY_Q, ("lazy", "metric_search", "no_candidates")),
    ],
)
async def test_planner_path_counter(
    timed_client: httpx.AsyncClient, runs_engine: Engine, url: str, q: str, labels: tuple[str, str, str]
) -> None:
    _seed(runs_engine)
    before = _planner_samples((await timed_client.get("/metrics/")).text)
    await get_stream(timed_client, url, q=q)
    after = _planner_samples((await timed_client.get("/metrics/")).text)
    changed = {key for key, value in after.items() if value != before.get(key, 0.0)}
    assert changed == {labels}
    assert after[labels] == before.get(labels, 0.0) + 1
