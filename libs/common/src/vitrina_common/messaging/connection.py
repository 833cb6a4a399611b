"""Connecting to NATS with the settings' servers and credentials."""

from __future__ import annotations

from nats.aio.client import Client

from vitrina_common.config import NatsSettings
from vitrina_common.logging import get_logger
from vitrina_common.messaging.permissions import inbox_prefix

log = get_logger(__name__)

# How long a stop's drain may wait for messages already delivered to a subscription. The
# services stop their consumers before draining, so nothing is left to process them: the
# wait only lets in-flight deliveries land (unacked, they are redelivered). nats.py's
# default is 30 s, past a pod's grace period.
DRAIN_TIMEOUT_S = 3


async def connect_nats(settings: NatsSettings, name: str) -> Client:
    """Connect once (raises when no server answers); later drops reconnect forever."""
    client = Client()

    async def on_error(error: Exception) -> None:
        log.warning("nats connection error", error=str(error) or type(error).__name__)

    async def on_disconnected() -> None:
        # Our own close/drain also "disconnects"; only an unplanned drop is worth a warning.
        if not (client.is_closed or client.is_draining):
            log.warning("nats disconnected, reconnecting")

    async def on_reconnected() -> None:
        log.info("nats reconnected")

    await client.connect(
        servers=settings.servers,
        name=name,
        user=settings.user,
        password=settings.password.get_secret_value() if settings.password else None,
        # Replies come to the user's own inbox: the only one its permissions let it read.
        inbox_prefix=inbox_prefix(settings.user),
        connect_timeout=int(settings.connect_timeout_s),
        drain_timeout=DRAIN_TIMEOUT_S,
        allow_reconnect=True,
        max_reconnect_attempts=-1,
        error_cb=on_error,
        disconnected_cb=on_disconnected,
        reconnected_cb=on_reconnected,
    )
    return client
