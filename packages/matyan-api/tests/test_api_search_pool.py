"""The search pool in-process: limits before and after the stream starts, and what reaches the log.

The app runs in this process (httpx's ASGI transport); its searches run in real search processes.
Hostile queries against the real ``matyan-backend start`` are in tests-integration.
"""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator

import httpx
import pytest
from api_runs_fixtures import BASE, app_client, make_run, runs_blobs, runs_engine, runs_publisher
from api_search_helpers import split_frames

from matyan_api.kafka_publisher import RecordingPublisher
from matyan_api.query import QuerySyntaxError, prepare_query
from matyan_api.query.prepare import MAX_QUERY_CHARS
from matyan_api.streaming import ERROR_KEY, decode_frames, stream_error
from matyan_store.blobs import BlobStore
from matyan_store.engine import Engine
from matyan_store.log_setup import configure_logging

__all__ = ["runs_blobs", "runs_engine", "runs_publisher"]

RUN_SEARCH = f"{BASE}/runs/search/run/"
METRIC_SEARCH = f"{BASE}/runs/search/metric/"
# Seconds of CPU in C, whatever the budget: max() compares 20,000 references to one million-item list.
CPU_HOG = "max([[0]*1000000]*20000) == 0"


@pytest.fixture
async def limited_client(
    runs_engine: Engine, runs_blobs: BlobStore, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app whose pool has a 1 s CPU limit and a 20 s wall limit, answers held 0.5 s.

    The app reads ``MATYAN_SEARCH_*`` when it is made (``ApiSettings.search``).
    """
    monkeypatch.setenv("MATYAN_SEARCH_WORKERS", "1")
    monkeypatch.setenv("MATYAN_SEARCH_CPU_SECONDS", "1")
    monkeypatch.setenv("MATYAN_SEARCH_WALL_SECONDS", "20")
    monkeypatch.setenv("MATYAN_SEARCH_HOLD_SECONDS", "0.5")
    for i in range(3):
        make_run(runs_engine, f"run{i}", name=f"run-{i}")
    async with await app_client(runs_engine, runs_blobs, RecordingPublisher()) as client:
        yield client


async def test_a_limit_before_the_stream_is_an_enveloped_400(
    runs_engine: Engine, runs_blobs: BlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MATYAN_SEARCH_WORKERS", "1")
    monkeypatch.setenv("MATYAN_SEARCH_CPU_SECONDS", "1")
    monkeypatch.setenv("MATYAN_SEARCH_HOLD_SECONDS", "30")  # held back longer than the CPU limit
    for i in range(3):
        make_run(runs_engine, f"run{i}", name=f"run-{i}")
    async with await app_client(runs_engine, runs_blobs, RecordingPublisher()) as client:
        # Run search evaluates every run before its first frame: the CPU limit ends it while held back.
        response = await client.get(RUN_SEARCH, params={"q": CPU_HOG})
        assert response.status_code == 400
        body = response.json()
        assert body["error"]["code"] == "bad_request"
        assert "CPU time limit (1 s)" in body["detail"]
        # The process was replaced: the next search is answered.
        again = await client.get(RUN_SEARCH, params={"q": "run.name == 'run-1'"})
        data, _ = split_frames(again.content)
        assert [run for run, _ in data] == ["run1"]


async def test_a_limit_after_the_stream_started_ends_it_with_the_error_frame(
    limited_client: httpx.AsyncClient,
) -> None:
    # Metric search announces (0, total) first, so the answer starts before the evaluation.
    response = await limited_client.get(METRIC_SEARCH, params={"q": CPU_HOG})
    assert response.status_code == 200
    frames = decode_frames(response.content)
    assert frames[0] == ("progress_0", [0, 3])
    key, value = frames[-1]
    assert key == ERROR_KEY
    error = stream_error(value)
    assert error is not None
    # The CPU limit, or on a machine busy enough the wall limit: either way the frame says so.
    assert error["code"] in ("search_cpu_limit", "search_time_limit")
    assert "stopped" in error["message"]


async def test_the_wall_limit_stops_a_search_under_the_cpu_limit(
    runs_engine: Engine, runs_blobs: BlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MATYAN_SEARCH_WORKERS", "1")
    monkeypatch.setenv("MATYAN_SEARCH_CPU_SECONDS", "600")
    monkeypatch.setenv("MATYAN_SEARCH_WALL_SECONDS", "1")
    make_run(runs_engine, "run0")
    async with await app_client(runs_engine, runs_blobs, RecordingPublisher()) as client:
        response = await client.get(RUN_SEARCH, params={"q": CPU_HOG})
        assert response.status_code == 400
        assert "search time limit (1 s)" in response.json()["detail"]
        again = await client.get(RUN_SEARCH, params={"q": ""})
        assert [run for run, _ in split_frames(again.content)[0]] == ["run0"]


async def test_bad_queries_are_400s_whatever_the_hold(limited_client: httpx.AsyncClient) -> None:
    for q in ("run.name ==", "run._x == 1", "(" * 5000 + "1" + ")" * 5000, "1 or " * 12000 + "1"):
        response = await limited_client.get(RUN_SEARCH, params={"q": q})
        assert response.status_code == 400, q[:40]
        assert response.json()["detail"].startswith("Invalid query syntax")


def test_compile_warnings_never_surface() -> None:
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        prepare_query("1 is 1 is 1 and run.name is 'x'")
    assert [w for w in seen if issubclass(w.category, SyntaxWarning)] == []


def test_queries_over_the_size_limit_are_refused() -> None:
    with pytest.raises(QuerySyntaxError, match="longer than"):
        prepare_query("1 or " * (MAX_QUERY_CHARS // 5) + "1")


def _log_a_failure() -> None:
    from loguru import logger

    secret_local = "value-of-a-local-variable"
    try:
        raise ValueError(secret_local[:0] + "boom")
    except ValueError:
        logger.exception("failed with {}", len(secret_local))


@pytest.mark.parametrize(("environment", "shown"), [("production", False), ("development", True)])
def test_tracebacks_show_local_values_only_in_development(
    capsys: pytest.CaptureFixture[str], environment: str, shown: bool
) -> None:
    configure_logging("INFO", environment=environment)
    try:
        _log_a_failure()
    finally:
        configure_logging("INFO", environment="development")
    err = capsys.readouterr().err
    assert "ValueError: boom" in err
    assert ("value-of-a-local-variable" in err) is shown
