"""``/healthz``, ``/readyz`` and ``/metrics`` for every service, on one small aiohttp server.

``/healthz`` answers while the process runs its event loop (liveness). ``/readyz`` runs the
service's readiness checks (database reachable, schema at head, NATS connected) and
answers 503 with the failing ones named until all pass.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from vitrina_common.logging import get_logger

log = get_logger(__name__)

ReadinessCheck = Callable[[], Awaitable[bool]]
_CHECK_TIMEOUT_S = 2.0


async def _run_check(check: ReadinessCheck) -> bool:
    try:
        return await asyncio.wait_for(check(), _CHECK_TIMEOUT_S)
    except Exception:  # noqa: BLE001  (a failing check means "not ready", never a 500)
        return False


class HealthServer:
    """Serves the probes and metrics on ``host:port`` until ``stop``."""

    def __init__(self, host: str, port: int, checks: Mapping[str, ReadinessCheck]) -> None:
        self._host = host
        self._port = port
        self._checks = dict(checks)
        self._runner: web.AppRunner | None = None

    async def _healthz(self, _request: web.Request) -> web.Response:
        return web.json_response({"status": "alive"})

    async def _readyz(self, _request: web.Request) -> web.Response:
        names = list(self._checks)
        results = await asyncio.gather(*(_run_check(self._checks[name]) for name in names))
        body = dict(zip(names, results, strict=True))
        return web.json_response(body, status=200 if all(results) else 503)

    async def _metrics(self, _request: web.Request) -> web.Response:
        response = web.Response(body=generate_latest())
        response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
        return response

    async def start(self) -> None:
        """Bind the port; raises OSError with the port in the message when it is taken."""
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        log.info("health server listening", port=self._port)

    async def stop(self) -> None:
        """Close the listener and any open probe connections."""
        if self._runner is not None:
            await self._runner.cleanup()
