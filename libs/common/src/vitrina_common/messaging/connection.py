"""Connecting to NATS with the settings' servers and credentials."""

from __future__ import annotations

import nats
from nats.aio.client import Client

from vitrina_common.config import NatsSettings
from vitrina_common.logging import get_logger

log = get_logger(__name__)


async def _on_error(error: Exception) -> None:
    log.warning("nats connection error", error=str(error) or type(error).__name__)


async def _on_disconnected() -> None:
    log.warning("nats disconnected, reconnecting")


async def _on_reconnected() -> None:
    log.info("nats reconnected")


async def connect_nats(settings: NatsSettings, name: str) -> Client:
    """Connect once (raises when no server answers); later drops reconnect forever."""
    return await nats.connect(
        servers=settings.servers,
        name=name,
        user=settings.user,
        password=settings.password.get_secret_value() if settings.password else None,
        connect_timeout=int(settings.connect_timeout_s),
        allow_reconnect=True,
        max_reconnect_attempts=-1,
        error_cb=_on_error,
        disconnected_cb=_on_disconnected,
        reconnected_cb=_on_reconnected,
    )
