"""OpenTelemetry spans (one per batch or event) exported over OTLP/HTTP when an endpoint is configured.

Without an endpoint the workers use :class:`NoTracer` and never import OpenTelemetry (a worker's
start-up pays only for what it uses).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any, Protocol

from matyan_workers.settings import WorkerSettings

__all__ = ["NoTracer", "SpanTracer", "worker_tracer"]


class SpanTracer(Protocol):
    """The part of an OpenTelemetry tracer the workers use."""

    def start_as_current_span(self, name: str) -> AbstractContextManager[Any]: ...


class _NoSpan:
    def set_attribute(self, key: str, value: Any) -> None:
        return None

    def __enter__(self) -> _NoSpan:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None


class NoTracer:
    """Spans that record nothing."""

    def start_as_current_span(self, name: str) -> AbstractContextManager[Any]:
        """A span context that does nothing."""
        return _NoSpan()


def worker_tracer(settings: WorkerSettings, service_name: str) -> SpanTracer:
    """A tracer exporting to ``OTEL_EXPORTER_OTLP_ENDPOINT``; without one, a :class:`NoTracer`."""
    endpoint = settings.otel_exporter_otlp_endpoint.strip()
    if not endpoint:
        return NoTracer()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    if not endpoint.rstrip("/").endswith("/v1/traces"):
        endpoint = endpoint.rstrip("/") + "/v1/traces"
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return provider.get_tracer("matyan_workers")
