"""Prometheus metrics of the API process and the ``/metrics/`` route (default registry)."""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import Counter, Histogram, generate_latest

__all__ = [
    "HTTP_REQUESTS",
    "HTTP_REQUEST_DURATION",
    "PLANNER_PATHS",
    "observe_request",
    "router",
    "status_class",
]

# The text format 0.0.4 the reference answers with (newer clients default to 1.0.0).
PROMETHEUS_CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_LABELS: Final = ("method", "path_template", "status_class")

HTTP_REQUESTS: Final = Counter("matyan_http_requests_total", "HTTP requests handled by the API.", _LABELS)
HTTP_REQUEST_DURATION: Final = Histogram(
    "matyan_http_request_duration_seconds",
    "Time to answer an HTTP request (until the handler returns; streams included).",
    _LABELS,
    buckets=_BUCKETS,
)

# Which way the searches answered their queries (docs/http-contract.md, Query language): path
# fast|lazy, endpoint run_search|metric_search|iter_matching_sequences, reason exact|superset|no_candidates|
# unindexed_sequence|"".
PLANNER_PATHS: Final = Counter(
    "matyan_planner_path_total",
    "Search queries by planner path (fast: index candidates; lazy: a scan).",
    ("path", "endpoint", "reason"),
)


def status_class(status: int) -> str:
    """``"2xx"``, ``"4xx"``, ... for an HTTP status."""
    return f"{status // 100}xx"


def observe_request(method: str, path_template: str, status: int, seconds: float) -> None:
    """Record one finished request."""
    labels = (method, path_template, status_class(status))
    HTTP_REQUESTS.labels(*labels).inc()
    HTTP_REQUEST_DURATION.labels(*labels).observe(seconds)


router = APIRouter(tags=["metrics"])


@router.get("/metrics/", include_in_schema=False)
def prometheus_metrics() -> Response:
    """Every metric of the default registry in the Prometheus text format."""
    return Response(generate_latest(), media_type=PROMETHEUS_CONTENT_TYPE)
