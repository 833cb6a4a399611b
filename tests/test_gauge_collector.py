"""The gauge collector says once that a consumer does not exist yet, and warns of real
failures every pass."""

from __future__ import annotations

from typing import cast

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError, ServiceUnavailableError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from structlog.testing import capture_logs

from vitrina_common.messaging.topology import IMPORT_ROW_CONSUMER, RENDER_PREVIEW_CONSUMER
from vitrina_common.observability.collector import GaugeCollector


class _DatabaseAway:
    """A session factory whose sessions cannot connect (the collector logs and goes on)."""

    def __call__(self) -> _DatabaseAway:
        return self

    async def __aenter__(self) -> None:
        raise ConnectionRefusedError


class _JetStream:
    """No render consumer yet (the worker has not started); the import one's server is
    away."""

    async def consumer_info(self, stream: str, durable: str, timeout: float) -> object:  # noqa: ASYNC109  (nats.py's signature)
        del stream, timeout
        if durable == RENDER_PREVIEW_CONSUMER.durable:
            raise NotFoundError
        raise ServiceUnavailableError


async def test_a_consumer_not_created_yet_is_said_once_and_a_failure_every_pass() -> None:
    collector = GaugeCollector(
        cast("async_sessionmaker[AsyncSession]", _DatabaseAway()),
        cast("JetStreamContext", _JetStream()),
        [RENDER_PREVIEW_CONSUMER, IMPORT_ROW_CONSUMER],
        interval_s=3600,
    )

    with capture_logs() as logs:
        for _ in range(3):
            await collector.collect()

    absent = [log for log in logs if log["event"] == "consumer not created yet, no gauges"]
    failed = [log for log in logs if log["event"] == "consumer gauges not read"]
    assert [log["consumer"] for log in absent] == [RENDER_PREVIEW_CONSUMER.durable]
    assert absent[0]["log_level"] == "info"
    assert [log["consumer"] for log in failed] == [IMPORT_ROW_CONSUMER.durable] * 3
    assert all(log["log_level"] == "warning" for log in failed)
