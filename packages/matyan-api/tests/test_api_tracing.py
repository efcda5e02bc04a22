"""Request spans: one server span per request, named after the route template, when tracing is on."""

from __future__ import annotations

from pathlib import Path

from api_fixtures import REST, make_settings, open_test_stores
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from matyan_api.app import create_app
from matyan_api.kafka_publisher import RecordingPublisher
from matyan_api.tracing import otlp_tracer_provider


def test_spans_per_request(tmp_path: Path) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    engine, blobs = open_test_stores(tmp_path)
    app = create_app(
        make_settings(), engine=engine, blobs=blobs, publisher=RecordingPublisher(), tracer_provider=provider
    )
    with TestClient(app) as client:
        client.get(f"{REST}/experiments/0cf28fd9-b5bf-4002-8000-000000000000")
        client.get("/health/live")
    spans = exporter.get_finished_spans()
    assert [s.name for s in spans] == ["GET /api/v1/rest/experiments/{id}/", "GET /health/live/"]
    first = spans[0]
    assert first.kind == SpanKind.SERVER
    assert first.attributes is not None
    assert first.attributes["http.response.status_code"] == 404
    assert first.attributes["http.route"] == "/api/v1/rest/experiments/{id}/"
    assert spans[1].status.status_code != StatusCode.ERROR
    engine.close()


def test_tracing_is_off_without_endpoint() -> None:
    assert otlp_tracer_provider(make_settings(otel_exporter_otlp_endpoint="")) is None
    provider = otlp_tracer_provider(make_settings(otel_exporter_otlp_endpoint="http://127.0.0.1:4318"))
    assert isinstance(provider, TracerProvider)
    provider.shutdown()
