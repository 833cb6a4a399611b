"""Request metrics on ``/metrics`` of the health port: duration per method, route and
status (OpenTelemetry's ``http.server.request.duration``)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from opentelemetry import metrics


def install_request_metrics(app: FastAPI) -> None:
    """Time every request ``app`` answers (routes by template, so ids do not explode it)."""
    duration = metrics.get_meter("vitrina.api").create_histogram(
        "http.server.request.duration", unit="s", description="Time to answer a request."
    )

    @app.middleware("http")
    async def measure(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = getattr(request.scope.get("route"), "path", "unmatched")
        duration.record(
            time.perf_counter() - started,
            {
                "http.request.method": request.method,
                "http.route": route,
                "http.response.status_code": response.status_code,
            },
        )
        return response
