"""The workers' HTTP endpoint: /health/ follows the worker loop, every other path serves Prometheus text."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from matyan_workers import metrics
from matyan_workers.metrics_server import MetricsServer


def _get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.headers["Content-Type"], err.read().decode()


@pytest.fixture
def server_and_flag() -> Iterator[tuple[MetricsServer, dict[str, bool]]]:
    alive = {"ok": True}
    server = MetricsServer(0, lambda: alive["ok"], host="127.0.0.1")
    server.start()
    yield server, alive
    server.stop()


def test_health_follows_the_worker_loop(server_and_flag: tuple[MetricsServer, dict[str, bool]]) -> None:
    server, alive = server_and_flag
    base = f"http://127.0.0.1:{server.port}"
    status, content_type, body = _get(f"{base}/health/")
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    assert content_type == "application/json"
    alive["ok"] = False
    status, _, body = _get(f"{base}/health")
    assert (status, json.loads(body)) == (503, {"status": "unhealthy"})


def test_metrics_use_the_spec_names(server_and_flag: tuple[MetricsServer, dict[str, bool]]) -> None:
    server, _ = server_and_flag
    metrics.INGESTION_CONSUMED.inc(3)
    status, content_type, body = _get(f"http://127.0.0.1:{server.port}/metrics")
    assert status == 200
    assert content_type.startswith("text/plain")
    for name in (
        "matyan_ingestion_messages_consumed_total",
        "matyan_ingestion_batch_processing_seconds",
        "matyan_control_events_consumed_total",
    ):
        assert name in body
