"""A server span per request: continues the caller's trace when it sends ``traceparent``
(W3C trace context), so an integration's request and the SQL it causes here are one
trace; named by the route template (``GET /api/v1/products/{product_id}``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

_SERVER_ERROR = 500


def install_request_tracing(app: FastAPI) -> None:
    """Trace every request ``app`` answers."""
    tracer = trace.get_tracer("vitrina.api")

    @app.middleware("http")
    async def traced(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        caller = propagate.extract(dict(request.headers))
        with tracer.start_as_current_span(
            request.method, context=caller, kind=SpanKind.SERVER
        ) as span:
            span.set_attribute("http.request.method", request.method)
            span.set_attribute("url.path", request.url.path)
            response = await call_next(request)
            # The route is known once routing ran: the template, never the ids in the path.
            route = getattr(request.scope.get("route"), "path", None)
            if route is not None:
                span.update_name(f"{request.method} {route}")
                span.set_attribute("http.route", route)
            span.set_attribute("http.response.status_code", response.status_code)
            if response.status_code >= _SERVER_ERROR:
                span.set_status(Status(StatusCode.ERROR))
            return response
