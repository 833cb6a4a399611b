"""A test-only OTLP/HTTP receiver: the services export their spans to it as they would to
a collector, and tests read what arrived (decoded from the real protobuf payloads)."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field

from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from devstack.ports import LOOPBACK, free_port

_PROTOBUF = "application/x-protobuf"


@dataclass(frozen=True)
class ReceivedSpan:
    """One span as a collector sees it, ids in hex."""

    service: str
    name: str
    kind: int
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: dict[str, object]
    links: tuple[str, ...]  # trace ids of linked spans


@dataclass
class OtlpReceiver:
    """Collects the spans of every export; ``url`` is what OTEL_EXPORTER_OTLP_ENDPOINT takes."""

    url: str = ""
    spans: list[ReceivedSpan] = field(default_factory=list)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def _traces(self, request: web.Request) -> web.Response:
        body = await request.read()
        if request.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        export = ExportTraceServiceRequest.FromString(body)
        for resource_spans in export.resource_spans:
            resource = _attributes(resource_spans.resource.attributes)
            service = str(resource.get("service.name", ""))
            for scope_spans in resource_spans.scope_spans:
                self.spans.extend(_span(service, span) for span in scope_spans.spans)
        self._arrived.set()
        return web.Response(
            body=ExportTraceServiceResponse().SerializeToString(), content_type=_PROTOBUF
        )

    async def _accept(self, _request: web.Request) -> web.Response:
        # Metrics and logs exports are accepted and dropped.
        return web.Response(body=b"", content_type=_PROTOBUF)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 2**20)
        app.router.add_post("/v1/traces", self._traces)
        app.router.add_post("/v1/metrics", self._accept)
        app.router.add_post("/v1/logs", self._accept)
        return app

    def named(self, name: str) -> list[ReceivedSpan]:
        return [span for span in self.spans if span.name == name]

    def in_trace(self, trace_id: str) -> list[ReceivedSpan]:
        return [span for span in self.spans if span.trace_id == trace_id]

    async def wait_for(self, name: str, timeout_s: float = 20) -> ReceivedSpan:
        """The first span called ``name``, once exported."""
        async with asyncio.timeout(timeout_s):
            while not self.named(name):
                self._arrived.clear()
                await self._arrived.wait()
        return self.named(name)[0]


def _value(value: AnyValue) -> object:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind is not None else None


def _attributes(pairs: Iterable[KeyValue]) -> dict[str, object]:
    return {pair.key: _value(pair.value) for pair in pairs}


def _span(service: str, span: Span) -> ReceivedSpan:
    return ReceivedSpan(
        service=service,
        name=span.name,
        kind=span.kind,
        trace_id=span.trace_id.hex(),
        span_id=span.span_id.hex(),
        parent_span_id=span.parent_span_id.hex(),
        attributes=_attributes(span.attributes),
        links=tuple(link.trace_id.hex() for link in span.links),
    )


@contextlib.asynccontextmanager
async def receiving() -> AsyncIterator[OtlpReceiver]:
    """An OTLP/HTTP receiver on a free loopback port while in use."""
    receiver = OtlpReceiver()
    runner = web.AppRunner(receiver.app(), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, LOOPBACK, port).start()
    receiver.url = f"http://{LOOPBACK}:{port}"
    try:
        yield receiver
    finally:
        await runner.cleanup()
