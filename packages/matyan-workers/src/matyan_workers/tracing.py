"""OpenTelemetry spans (one per batch or event) exported over OTLP/HTTP when an endpoint is configured."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from matyan_workers.settings import WorkerSettings

__all__ = ["worker_tracer"]


def worker_tracer(settings: WorkerSettings, service_name: str) -> trace.Tracer:
    """A tracer exporting to ``OTEL_EXPORTER_OTLP_ENDPOINT``; without one, a no-op tracer."""
    endpoint = settings.otel_exporter_otlp_endpoint.strip()
    if not endpoint:
        return trace.NoOpTracer()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    if not endpoint.rstrip("/").endswith("/v1/traces"):
        endpoint = endpoint.rstrip("/") + "/v1/traces"
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return provider.get_tracer("matyan_workers")
