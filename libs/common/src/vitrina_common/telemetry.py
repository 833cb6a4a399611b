"""OpenTelemetry tracer and meter providers.

Metrics are always readable at ``/metrics`` (the Prometheus reader feeds the default
prometheus_client registry). Traces and metrics are also pushed over OTLP/HTTP, but only
when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set, so a laptop run exports nothing and costs nothing.
The standard ``OTEL_*`` variables (endpoint, headers, sampler) are read by the SDK itself.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from opentelemetry import metrics, trace
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from vitrina_common.config import TelemetrySettings
from vitrina_common.observability.errors import init_error_reporting

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

OTLP_ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_ENDPOINT"


@dataclass(frozen=True)
class Telemetry:
    """The providers a service installed; ``shutdown`` flushes pending exports."""

    tracer_provider: TracerProvider
    meter_provider: MeterProvider

    def shutdown(self) -> None:
        """Flush and stop both providers (bounded by the SDK's own timeouts)."""
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


def setup_telemetry(settings: TelemetrySettings, service: str) -> Telemetry:
    """Install global tracer and meter providers for ``service`` (and the Sentry client
    when a DSN is set)."""
    init_error_reporting(settings, service)
    resource = Resource.create(
        {"service.name": f"vitrina-{service}", "service.namespace": settings.service_namespace}
    )
    tracer_provider = TracerProvider(resource=resource)
    readers: list[MetricReader] = [PrometheusMetricReader()]
    if os.environ.get(OTLP_ENDPOINT_ENV):
        # Imported lazily: the exporter pulls in protobuf, which a laptop run does not need.
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import (  # noqa: PLC0415
            OTLPMetricExporter,
        )
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
            OTLPSpanExporter,
        )

        tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        readers.append(PeriodicExportingMetricReader(OTLPMetricExporter()))
    meter_provider = MeterProvider(resource=resource, metric_readers=readers)
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(meter_provider)
    return Telemetry(tracer_provider=tracer_provider, meter_provider=meter_provider)


def instrument_engine(engine: AsyncEngine) -> None:
    """A span per SQL statement of ``engine`` (child of whatever span is current: the
    update, the job, the outbox delivery). Statements are recorded without parameters."""
    # Imported here: only service processes instrument; tests' engines stay plain.
    from opentelemetry.instrumentation.sqlalchemy import (  # noqa: PLC0415
        SQLAlchemyInstrumentor,
    )

    # skip_dep_check: the instrumentation declares SQLAlchemy < 2.1 while we run 2.1; the
    # cursor events it hooks are unchanged, and tests/test_tracing.py pins the spans.
    SQLAlchemyInstrumentor().instrument(
        engine=engine.sync_engine, enable_commenter=False, skip_dep_check=True
    )
