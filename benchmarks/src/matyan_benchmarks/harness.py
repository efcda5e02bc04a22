"""What several benchmarks share: synthetic series, timing, the report table, a scratch store, a server."""

from __future__ import annotations

import math
import os
import random
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import httpx

from matyan_store.engine import Engine, open_engine

# The backend's command, installed next to the interpreter running the benchmark.
MATYAN_BACKEND: Final = str(Path(sys.executable).parent / "matyan-backend")

_F32 = struct.Struct("<f")


def to_float32(x: float) -> float:
    """The float64 a client sends for a float32 tensor value."""
    value: float = _F32.unpack(_F32.pack(x))[0]
    return value


def loss_curve(n: int, seed: int, *, float32: bool) -> list[float]:
    """A noisy decaying random walk, like a training loss."""
    rng = random.Random(seed)
    x = 2.5
    out = []
    for i in range(n):
        x = abs(x * (1 - 2e-6) + rng.gauss(0, 0.01))
        v = x + 0.05 * rng.random() + 1e-3 * (i % 7)
        out.append(to_float32(v) if float32 else v)
    return out


def timestamps(n: int, seed: int) -> list[float]:
    """Wall-clock times at ~10 steps/s with a few ms of jitter, as ``time.time()`` gives them."""
    rng = random.Random(seed)
    t = 1_760_000_000.123456
    out = []
    for _ in range(n):
        t += 0.1 + rng.gauss(0, 0.004)
        out.append(t)
    return out


def percentile(samples: Sequence[float], q: float) -> float:
    """Nearest-rank ``q`` quantile (``0 < q <= 1``) of non-empty ``samples``."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    """Wall-clock milliseconds of ``runs`` calls."""
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def lmdb_url(path: Path, map_size: int = 64 << 30) -> str:
    """A scratch LMDB store at ``path``: no fsync (figures measure the code, not the disk)."""
    return f"lmdb://{path}?sync=false&map_size={map_size}"


def open_lmdb(path: Path) -> Engine:
    """Open the scratch store of :func:`lmdb_url`."""
    return open_engine(lmdb_url(path))


@dataclass(frozen=True, slots=True)
class Row:
    """One line of a report: what was measured, the figure, and the design target it answers (or "")."""

    what: str
    measured: str
    target: str


def print_rows(rows: Sequence[Row], *, measured_width: int = 28, target_header: str = "target") -> None:
    """The report as an aligned three-column table."""
    width = max(len(r.what) for r in rows)
    print(f"{'what':<{width}} | {'measured':<{measured_width}} | {target_header}")
    print(f"{'-' * width}-+-{'-' * measured_width}-+-{'-' * len(target_header)}")
    for row in rows:
        print(f"{row.what:<{width}} | {row.measured:<{measured_width}} | {row.target}")


# --- a real server on a scratch store (the benchmarks that go over HTTP) ----------------------------

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
