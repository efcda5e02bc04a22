"""``matyan-backend start``: serves the app with granian in a subprocess and stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from matyan_dev_services import ProcessRunner, find_free_port, wait_healthy

CLI = str(Path(sys.executable).parent / "matyan-backend")


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        "MATYAN_STORE_ENGINE": f"lmdb://{tmp_path / 'kv'}?sync=false",
        "BLOB_BACKEND_TYPE": "local",
        "BLOB_LOCAL_DIR": str(tmp_path / "blobs"),
        # Nothing listens there: the API must still start and say so in readiness.
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
        "MATYAN_ENVIRONMENT": "development",
    }
    env.update(extra)
    return env


def _get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.mark.slow
def test_start_serves_and_stops_on_sigterm(tmp_path: Path, process_runner: ProcessRunner) -> None:
    port = find_free_port()
    proc = process_runner.start(
        "api",
        [CLI, "start", "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--ui"],
        env=_env(tmp_path),
    )
    base = f"http://127.0.0.1:{port}"

    def live() -> None:
        status, body = _get(f"{base}/health/live")
        assert status == 200
        assert body == {"status": "ok"}

    wait_healthy(proc, live, "matyan-backend start", timeout=60)
    status, body = _get(f"{base}/health/ready/")
    assert status == 503
    assert body["status"] == "degraded"
    assert body["checks"] == {
        "fdb": "ok",
        "blobs": "ok",
        "kafka": {"control_producer": False, "ingestion_producer": False},
    }
    status, body = _get(f"{base}/api/v1/rest/projects/")
    assert status == 200
    assert body["name"] == "My project"
    with urllib.request.urlopen(f"{base}/runs/abc", timeout=5) as response:
        assert "window.API_HOST_BASE=window.location.origin" in response.read().decode()
    assert proc.popen is not None
    proc.popen.send_signal(signal.SIGTERM)
    assert proc.popen.wait(timeout=60) == 0
    log = proc.log_path.read_text()
    assert f"serving the UI on http://127.0.0.1:{port}/" in log


def test_start_refuses_development_settings_in_production(tmp_path: Path) -> None:
    env = dict(os.environ)
    env.update(
        _env(
            tmp_path,
            MATYAN_ENVIRONMENT="production",
            KAFKA_BOOTSTRAP_SERVERS="localhost:9092",
            CORS_ORIGINS='["*"]',
        )
    )
    env.pop("MATYAN_AUTH", None)
    done = subprocess.run(
        [CLI, "start", "--host", "127.0.0.1", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "refusing to start in production mode with development settings:" in done.stderr
    # The store's, Kafka's, the API's and authentication's problems, all in the one message.
    for name in (
        "BLOB_URI_SECRET",
        "MATYAN_STORE_ENGINE",
        "KAFKA_BOOTSTRAP_SERVERS",
        "CORS_ORIGINS",
        "MATYAN_AUTH",
    ):
        assert f"  - {name}" in done.stderr
