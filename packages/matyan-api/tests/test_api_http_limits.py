"""HTTP limits of ``matyan-backend start`` (docs/configuration.md, HTTP limits), against the real process.

2,000 clients trickling their headers used to take every connection permit of a worker (granian's
default backpressure is 1,024): nobody else was served until their header timeout (30 s) freed them. A
client trickling a request body held its request as long as it liked.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from matyan_dev_services import ProcessRunner, find_free_port, wait_healthy

CLI = str(Path(sys.executable).parent / "matyan-backend")
SLOW_CLIENTS = 2000
HEADER_TIMEOUT_S = 2
BODY_TIMEOUT_S = 1
# Generous bounds for "eventually": the test never measures how long anything took.
PROBE_TIMEOUT_S = 10.0
CLOSED_WITHIN_S = 60.0


@pytest.fixture
def open_files_for_the_flood() -> Iterator[None]:
    """Enough descriptors in this process for the slow clients (the soft limit is often 1,024)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = SLOW_CLIENTS + 512
    if hard != resource.RLIM_INFINITY and hard < needed:
        pytest.fail(f"the open-files hard limit {hard} is below the {needed} this test needs")
    if soft != resource.RLIM_INFINITY and soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def _start(tmp_path: Path, runner: ProcessRunner) -> int:
    port = find_free_port()
    env = {
        "MATYAN_STORE_ENGINE": f"lmdb://{tmp_path / 'kv'}?sync=false",
        "BLOB_BACKEND_TYPE": "local",
        "BLOB_LOCAL_DIR": str(tmp_path / "blobs"),
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
        "MATYAN_ENVIRONMENT": "development",
        "HTTP_HEADER_TIMEOUT_S": str(HEADER_TIMEOUT_S),
        "HTTP_BODY_TIMEOUT_S": str(BODY_TIMEOUT_S),
    }
    proc = runner.start(
        "api", [CLI, "start", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"], env=env
    )

    def live() -> None:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/live/", timeout=5) as response:
            assert response.status == 200

    wait_healthy(proc, live, "matyan-backend start", timeout=60)
    return port


def _content_length(head: bytes) -> int:
    return next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )


async def _request(port: int, raw: bytes) -> tuple[int, bytes]:
    """Send ``raw`` on a fresh connection; the status and body of the answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(raw)
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        return int(head.split(b" ", 2)[1]), await reader.readexactly(_content_length(head))
    finally:
        writer.close()


async def _live(port: int) -> int:
    raw = b"GET /health/live/ HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    status, _ = await asyncio.wait_for(_request(port, raw), PROBE_TIMEOUT_S)
    return status


async def _slow_client(port: int, started: asyncio.Event, count: list[int]) -> str:
    """Trickle header lines (one a second) until the server closes the connection; how it ended."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"GET /health/live/ HTTP/1.1\r\nHost: t\r\n")
        await writer.drain()
        count[0] += 1
        if count[0] == SLOW_CLIENTS:
            started.set()
        async with asyncio.timeout(CLOSED_WITHIN_S):
            while True:
                try:
                    got = await asyncio.wait_for(reader.read(1024), 1.0)
                except TimeoutError:
                    writer.write(b"X-Slow: 1\r\n")
                    await writer.drain()
                    continue
                return "closed by the server" if not got else "answered"
    except TimeoutError:
        return "still open"
    except ConnectionError:
        return "closed by the server"
    finally:
        writer.close()


@pytest.mark.slow
async def test_slow_header_clients_do_not_starve_others(
    tmp_path: Path, process_runner: ProcessRunner, open_files_for_the_flood: None
) -> None:
    port = _start(tmp_path, process_runner)
    started = asyncio.Event()
    count = [0]
    slow = [asyncio.create_task(_slow_client(port, started, count)) for _ in range(SLOW_CLIENTS)]
    await asyncio.wait_for(started.wait(), 60)
    # Every trickler is connected and none has finished its head: others are still served.
    for _ in range(3):
        assert await _live(port) == 200
    outcomes = await asyncio.gather(*slow)
    # And the server let go of every one of them (the header timeout), without an answer to any.
    assert outcomes.count("closed by the server") == SLOW_CLIENTS, {
        o: outcomes.count(o) for o in set(outcomes)
    }
    assert await _live(port) == 200


@pytest.mark.slow
async def test_a_trickled_body_is_408(tmp_path: Path, process_runner: ProcessRunner) -> None:
    port = _start(tmp_path, process_runner)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            b"POST /api/v1/rest/experiments/ HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n{"
        )
        await writer.drain()

        async def trickle() -> None:
            while True:
                await asyncio.sleep(0.2)
                writer.write(b" ")
                await writer.drain()

        trickling = asyncio.create_task(trickle())
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), CLOSED_WITHIN_S)
        finally:
            trickling.cancel()
        assert head.startswith(b"HTTP/1.1 408"), head
        body = await asyncio.wait_for(reader.readexactly(_content_length(head)), PROBE_TIMEOUT_S)
        assert json.loads(body)["error"]["code"] == "request_timeout", body
    finally:
        writer.close()
    assert await _live(port) == 200
