"""What every service process holds: the database engine, a NATS connection, the probes.

``start`` brings dependencies up with backoff (a missing database or NATS is logged and
retried, never a crash loop) while ``/healthz`` already answers and ``/readyz`` says why
the service is not ready yet. Services do not provision JetStream (their NATS users may
not create streams): they wait until the provision Job has.
"""

from __future__ import annotations

from nats.aio.client import Client
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from vitrina_common.config import Settings
from vitrina_common.db.engine import (
    create_engine,
    create_read_session_factory,
    create_session_factory,
)
from vitrina_common.db.schema import (
    EXPECTED_SCHEMA_REVISION,
    current_revision,
    ensure_schema_current,
)
from vitrina_common.health import HealthServer
from vitrina_common.logging import get_logger
from vitrina_common.messaging.connection import connect_nats
from vitrina_common.messaging.reconcile import TopologyConflictError
from vitrina_common.messaging.topology_check import check_jetstream
from vitrina_common.retry import retry_until_ready
from vitrina_common.telemetry import instrument_engine

log = get_logger(__name__)


class ServiceRuntime:
    """Shared infrastructure of one service process."""

    def __init__(self, settings: Settings, service: str, health_port: int) -> None:
        self.settings = settings
        self.service = service
        self.engine: AsyncEngine = create_engine(settings.db)
        instrument_engine(self.engine)
        self.session_factory: async_sessionmaker[AsyncSession] = create_session_factory(self.engine)
        self.read_session_factory: async_sessionmaker[AsyncSession] = create_read_session_factory(
            self.engine
        )
        self._nats: Client | None = None
        self.health = HealthServer(
            "0.0.0.0",  # noqa: S104  (probes come from the kubelet, not from loopback)
            health_port,
            {"database": self.database_ready, "nats": self.nats_ready},
        )

    @property
    def nats(self) -> Client:
        """The NATS connection; only valid after ``start``."""
        if self._nats is None:
            raise RuntimeError("ServiceRuntime.start() has not connected to NATS yet")
        return self._nats

    async def database_ready(self) -> bool:
        """Readiness: the database answers and its schema is at the expected head."""
        return await current_revision(self.engine) == EXPECTED_SCHEMA_REVISION

    async def nats_ready(self) -> bool:
        """Readiness: the NATS connection is up (not reconnecting)."""
        return self._nats is not None and self._nats.is_connected

    async def _check_schema(self) -> None:
        await ensure_schema_current(self.engine)

    async def _connect_nats(self) -> Client:
        client = await connect_nats(self.settings.nats, name=f"vitrina-{self.service}")
        try:
            await check_jetstream(client.jetstream(), self.settings.nats)
        except Exception:
            await client.close()
            raise
        return client

    async def start(self) -> None:
        """Serve probes, then wait (with backoff) for the database schema and NATS."""
        await self.health.start()
        await retry_until_ready(self._check_schema, "database")
        # A stream that cannot take the configuration stays so however long we wait.
        self._nats = await retry_until_ready(
            self._connect_nats, "nats", final=(TopologyConflictError,)
        )
        log.info("dependencies ready")

    async def close(self) -> None:
        """Drain NATS, dispose the pool, stop the probes."""
        if self._nats is not None and not self._nats.is_closed:
            await self._nats.drain()
        await self.engine.dispose()
        await self.health.stop()
