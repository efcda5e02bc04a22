"""OpenTelemetry request spans, exported over OTLP/HTTP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set."""

from __future__ import annotations

from typing import Final

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from matyan_api.settings import ApiSettings

__all__ = ["SERVICE_NAME", "otlp_tracer_provider"]

SERVICE_NAME: Final = "matyan-api"


def otlp_tracer_provider(settings: ApiSettings) -> TracerProvider | None:
    """A tracer provider batching spans to the configured OTLP endpoint; ``None`` when none is set.

    The endpoint is the collector's base URL, as the OpenTelemetry variable defines it; traces go to
    ``<endpoint>/v1/traces`` unless the endpoint already names that path.
    """
    endpoint = settings.otel_exporter_otlp_endpoint.strip()
    if not endpoint:
        return None
    # Imported only when tracing is on: the exporter pulls in protobuf and requests.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    if not endpoint.rstrip("/").endswith("/v1/traces"):
        endpoint = endpoint.rstrip("/") + "/v1/traces"
    provider = TracerProvider(resource=Resource.create({"service.name": SERVICE_NAME}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return provider
