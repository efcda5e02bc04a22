"""A real ``matyan-backend start`` process on a scratch store, for the benchmarks that go over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path
from typing import Final

import httpx

from matyan_benchmarks.harness import MATYAN_BACKEND

__all__ = ["free_port", "server_env", "start_server", "stop_server"]

SERVER_START_TIMEOUT_S: Final = 60.0


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def server_env(store_url: str, blob_dir: Path) -> dict[str, str]:
    """The environment of a server on the store ``store_url`` with local blobs (no broker, no tracing)."""
    env = dict(os.environ)
    env.update(
        {
            "MATYAN_STORE_ENGINE": store_url,
            "BLOB_BACKEND_TYPE": "local",
            "BLOB_LOCAL_DIR": str(blob_dir),
            # Nothing listens there: the benchmarked routes only read; the API starts without a broker.
            "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
            "MATYAN_ENVIRONMENT": "development",
            "OTEL_EXPORTER_OTLP_ENDPOINT": "",
            "LOG_LEVEL": "warning",
        }
    )
    return env


def _wait_live(proc: subprocess.Popen[bytes], base: str, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{base}/health/live/", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server did not answer within {SERVER_START_TIMEOUT_S:.0f} s:\n{log.read_text()}")


def start_server(workers: int, env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``matyan-backend start`` on a free port (output to ``log``); its process and URL once live."""
    port = free_port()
    args = [MATYAN_BACKEND, "start", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    with log.open("ab") as out:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_live(proc, base, log)
    except BaseException:
        stop_server(proc)
        raise
    return proc, base


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """Stop a server of :func:`start_server` (killed if it does not exit within 30 s)."""
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
