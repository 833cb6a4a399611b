"""What the API process holds: the database engine and the probes on the health port.

``start`` serves ``/healthz`` at once and waits (with backoff) for the database at this
build's schema; ``/readyz`` says 503 until then, whenever the database stops answering,
and while the HTTP port is not (or no longer) serving.
"""

from __future__ import annotations

from datetime import timedelta

import uvicorn

from vitrina_api.app import UseCases
from vitrina_common.config import ApiServiceSettings
from vitrina_common.db.engine import (
    create_engine,
    create_read_session_factory,
    create_session_factory,
)
from vitrina_common.db.schema import ensure_schema_current, schema_is_current
from vitrina_common.health import HealthServer
from vitrina_common.retry import retry_until_ready
from vitrina_common.services.api_tokens import AuthenticateApiToken
from vitrina_common.services.shop_data import ShopData
from vitrina_common.services.tickets import Tickets
from vitrina_common.telemetry import instrument_engine


class ApiRuntime:
    """The engine, its session factories and the health server of one API process."""

    def __init__(self, settings: ApiServiceSettings) -> None:
        self.settings = settings
        self.engine = create_engine(settings.db)
        instrument_engine(self.engine)
        self.sessions = create_session_factory(self.engine)
        self.read_sessions = create_read_session_factory(self.engine)
        self.health = HealthServer(
            "0.0.0.0",  # noqa: S104  (probes come from the kubelet, not from loopback)
            settings.api.health_port,
            {"database": self.database_ready, "http": self.http_ready},
        )
        # Set once uvicorn is created; ready while it listens and is not shutting down.
        self.server: uvicorn.Server | None = None

    async def database_ready(self) -> bool:
        """Readiness: the database answers and its schema is at the expected head."""
        return await schema_is_current(self.engine)

    async def http_ready(self) -> bool:
        """Readiness: the API port is bound and not draining for a stop."""
        return self.server is not None and self.server.started and not self.server.should_exit

    async def start(self) -> None:
        """Serve probes, then wait for the database schema."""
        await self.health.start()
        await retry_until_ready(lambda: ensure_schema_current(self.engine), "database")

    def use_cases(self) -> UseCases:
        """The use cases the routes call, on this process's sessions."""
        interval = timedelta(seconds=self.settings.api.token_touch_interval_s)
        return UseCases(
            authenticate=AuthenticateApiToken(self.sessions, interval),
            shop_data=ShopData(self.read_sessions),
            # No admin ids: a token speaks for the shop by itself (assigning is the bot's).
            tickets=Tickets(self.sessions, staff_ids=()),
        )

    async def close(self) -> None:
        """Dispose the pool, stop the probes."""
        await self.engine.dispose()
        await self.health.stop()
