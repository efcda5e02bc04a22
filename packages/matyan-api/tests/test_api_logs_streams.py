"""GET /runs/{id}/logs/ and /log-records/: binary streams, no 404 (docs/http-contract.md, Routes)."""

from __future__ import annotations

import httpx
import pytest
from api_runs_fixtures import (
    assert_envelope,
    make_run,
    run_url,
    runs_blobs,
    runs_client,
    runs_engine,
    runs_publisher,
)
from api_search_helpers import get_stream, write_series
from matyan_client.transport import http as client_http

from matyan_api.routes.runs_logs import log_window, normalize_record
from matyan_api.streaming import decode_frames, decode_pairs
from matyan_store.engine import Engine

__all__ = ["runs_blobs", "runs_client", "runs_engine", "runs_publisher"]


def _lines(engine: Engine, run_id: str, n: int) -> None:
    write_series(engine, run_id, "logs", [f"line {i}" for i in range(n)], dtype="logs")


async def test_missing_run_or_logs_is_an_empty_body(
    runs_client: httpx.AsyncClient, runs_engine: Engine
) -> None:
    assert await get_stream(runs_client, run_url("nope", "logs/")) == b""
    make_run(runs_engine, "r")
    assert await get_stream(runs_client, run_url("r", "logs/")) == b""


async def test_one_frame_per_line(runs_client: httpx.AsyncClient, runs_engine: Engine) -> None:
    make_run(runs_engine, "r")
    _lines(runs_engine, "r", 10)
    body = await get_stream(runs_client, run_url("r", "logs/"))
    pairs = decode_pairs(body)
    assert len(pairs) == 10
    assert pairs[3] == ((3,), "line 3")
    # The golden logs frame the released UI decodes.
    assert body.startswith(bytes.fromhex("0a000000fe0000000000000000fe07000000046c696e652030"))
    ranged = decode_pairs(await get_stream(runs_client, run_url("r", "logs/"), record_range="2:5"))
    assert ranged == [((2,), "line 2"), ((3,), "line 3"), ((4,), "line 4")]
    assert len(decode_pairs(await get_stream(runs_client, run_url("r", "logs/"), record_range="5:"))) == 5
    assert len(decode_pairs(await get_stream(runs_client, run_url("r", "logs/"), record_range=":5"))) == 5
    for no_range in ("2,5", "5,", ",5"):
        assert (
            len(decode_pairs(await get_stream(runs_client, run_url("r", "logs/"), record_range=no_range)))
            == 10
        )
    decoded = client_http._decode_streaming_response(body)
    assert decoded[:2] == [{"hash": 0, "data": "line 0"}, {"hash": 1, "data": "line 1"}]


async def test_default_window_is_the_last_200_steps(
    runs_client: httpx.AsyncClient, runs_engine: Engine
) -> None:
    make_run(runs_engine, "r")
    _lines(runs_engine, "r", 250)
    steps = [key for key, _ in decode_frames(await get_stream(runs_client, run_url("r", "logs/")))]
    assert steps == list(range(50, 250))


def test_log_window() -> None:
    assert log_window(0, 9, None, None) == (0, 10)
    assert log_window(0, 999, None, None) == (800, 1000)
    assert log_window(0, 9, 3, None) == (3, 10)
    assert log_window(4, 9, None, 6) == (4, 6)


async def test_log_records(runs_client: httpx.AsyncClient, runs_engine: Engine) -> None:
    make_run(runs_engine, "r")
    only_count = decode_pairs(await get_stream(runs_client, run_url("r", "log-records/")))
    assert only_count == [(("log_records_count",), 0)]
    records = [{"message": f"m{i}", "log_level": 10 * (i % 6), "timestamp": 1.5} for i in range(10)]
    write_series(runs_engine, "r", "__log_records", records, dtype="log_records")
    frames = decode_frames(await get_stream(runs_client, run_url("r", "log-records/")))
    assert frames[0] == ("log_records_count", 10)
    assert [key for key, _ in frames[1:]] == list(range(10))
    first = frames[2][1]
    assert first == {
        "message": "m1",
        "log_level": "DEBUG",
        "timestamp": 1.5,
        "args": None,
        "is_notified": True,
    }
    assert frames[1][1]["log_level"] == "INFO"  # level 0 is not a known level
    ranged = decode_frames(await get_stream(runs_client, run_url("r", "log-records/"), record_range="2:4"))
    assert ranged[0] == ("log_records_count", 10)  # the count ignores the range
    assert [key for key, _ in ranged[1:]] == [2, 3]


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        ("plain", {"message": "plain"}),
        (
            {"message": "x", "log_level": 30},
            {"message": "x", "log_level": "WARNING", "timestamp": 0, "args": None, "is_notified": True},
        ),
        (
            {"message": "x", "log_level": 50, "args": [1]},
            {"message": "x", "log_level": "CRITICAL", "args": [1], "timestamp": 0, "is_notified": True},
        ),
        (
            {"message": "x", "log_level": 42},
            {"message": "x", "log_level": "INFO", "timestamp": 0, "args": None, "is_notified": True},
        ),
    ],
)
def test_normalize_record(stored: object, expected: dict[str, object]) -> None:
    assert normalize_record(stored) == expected


async def test_bad_range_is_422(runs_client: httpx.AsyncClient) -> None:
    assert_envelope(
        await runs_client.get(run_url("r", "logs/"), params={"record_range": "a:b"}), 422, "validation_error"
    )
