"""Wiring of the worker process: runtime, FastStream broker, graceful drain."""

from __future__ import annotations

from faststream.nats import NatsBroker, NatsUserPassword

from vitrina_common.config import Settings
from vitrina_common.lifecycle import run_unless_stopped, stop_event_on_signals
from vitrina_common.logging import get_logger
from vitrina_common.retry import retry_until_ready
from vitrina_common.runtime import ServiceRuntime

log = get_logger(__name__)


def build_broker(settings: Settings) -> NatsBroker:
    """The FastStream broker; job subscribers register on it."""
    nats = settings.nats
    security = (
        NatsUserPassword(nats.user, nats.password.get_secret_value())
        if nats.user and nats.password
        else None
    )
    return NatsBroker(
        nats.servers, name="vitrina-worker", security=security, max_reconnect_attempts=-1
    )


async def run_worker(settings: Settings) -> None:
    """Run until SIGTERM/SIGINT: probes first, then dependencies, then consumers."""
    stop = stop_event_on_signals()
    runtime = ServiceRuntime(settings, "worker", settings.worker.health_port)
    broker = build_broker(settings)
    try:
        if not await run_unless_stopped(runtime.start(), stop):
            return
        if not await run_unless_stopped(retry_until_ready(broker.start, "nats (broker)"), stop):
            return
        log.info("worker consuming")
        await stop.wait()
    finally:
        log.info("worker stopping")
        await broker.stop()
        await runtime.close()
