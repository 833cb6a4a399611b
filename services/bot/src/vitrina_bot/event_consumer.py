"""The loop every bot-side consumer of worker events shares (previews, artifacts, ...).

A durable pull consumer on the EVENTS stream, so nothing is missed while the bot is down.
Each message is settled exactly one way: acked when handled; terminated when it can never
succeed (malformed, or an error the subclass names permanent); nak'ed after Telegram's
``retry_after`` on flood control; otherwise tried once more in place after a second (so a
blip keeps the events' order), then nak'ed with a pause (``max_deliver`` bounds it).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import ClassVar, Protocol

from aiogram.exceptions import TelegramRetryAfter
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.errors import FetchTimeoutError
from pydantic import ValidationError

from vitrina_common.cancellation import checked_sleep, raise_if_cancelled
from vitrina_common.logging import get_logger
from vitrina_common.messaging.provisioning import ensure_pull_consumer
from vitrina_common.messaging.topology import ConsumerSpec
from vitrina_common.observability.messaging_telemetry import consume_span

log = get_logger(__name__)

ACK_WAIT_S = 60.0
MAX_DELIVER = 10
RETRY_DELAY_S = 5.0
# Tries of an event before it is nak'ed (then redelivered after RETRY_DELAY_S, behind the
# events that came after it), and the pause between them.
IN_PLACE_TRIES = 2
IN_PLACE_RETRY_S = 1.0


class EventConsumer:
    """Subclasses set ``spec`` (and ``permanent``) and implement ``handle``."""

    spec: ClassVar[ConsumerSpec]
    # Errors after which a retry cannot help: the message is terminated with a log line.
    permanent: ClassVar[tuple[type[Exception], ...]] = ()

    def __init__(self, js: JetStreamContext) -> None:
        self._js = js

    async def handle(self, message: Msg) -> None:
        """Do what the event asks; raise to have it retried (or dropped, if permanent)."""
        raise NotImplementedError

    async def run(self) -> None:
        """Bind the durable consumer and handle events until cancelled."""
        spec = self.spec
        await ensure_pull_consumer(self._js, spec, ack_wait_s=ACK_WAIT_S, max_deliver=MAX_DELIVER)
        subscription = await self._js.pull_subscribe_bind(spec.durable, stream=spec.stream)
        try:
            while True:
                raise_if_cancelled()
                with contextlib.suppress(FetchTimeoutError, TimeoutError):
                    for message in await subscription.fetch(batch=10, timeout=5):
                        with consume_span(message.subject, message.headers):
                            await self._settle(message)
        finally:
            await _unsubscribe(subscription)

    async def _settle(self, message: Msg) -> None:
        for tries_left in reversed(range(IN_PLACE_TRIES)):
            try:
                await self.handle(message)
            except ValidationError as error:
                log.error("malformed event dropped", subject=message.subject, error=str(error))  # noqa: TRY400
                await message.term()
            except TelegramRetryAfter as error:
                await message.nak(delay=float(error.retry_after))
            except self.permanent as error:
                log.warning(
                    "event cannot be handled, dropped", subject=message.subject, error=str(error)
                )
                await message.term()
            except Exception as error:  # noqa: BLE001  (retried; max_deliver bounds it)
                if tries_left:
                    # A blip (a 5xx, a dropped connection) is tried again here, before the
                    # events behind it: a nak would let them pass, and one admin's three
                    # charts would arrive out of order.
                    log.info(
                        "event failed, trying again", subject=message.subject, error=str(error)
                    )
                    await checked_sleep(IN_PLACE_RETRY_S)
                    continue
                log.warning("event will be retried", subject=message.subject, error=str(error))
                await message.nak(delay=RETRY_DELAY_S)
            else:
                await message.ack()
            return


async def _unsubscribe(subscription: JetStreamContext.PullSubscription) -> None:
    """Remove the subscription before the connection drains. nats.py's ``fetch`` takes the
    messages already queued (a late status reply to an expired pull, a message that came
    after a timeout) without marking them done, and a drain waits for every queued message
    to be done: it sat out its whole timeout, so the bot's stop took until its SIGKILL.
    Nothing reads this subscription any more; what it held unacked is redelivered."""
    with contextlib.suppress(NatsError):
        await subscription.unsubscribe()


class BackgroundLoop(Protocol):
    """Anything with a ``run`` that loops until cancelled (consumers, watchers)."""

    async def run(self) -> None: ...


async def run_forever(consumer: BackgroundLoop) -> None:
    """Run a loop, restarting it after unexpected errors (NATS outage) with a pause."""
    while True:
        raise_if_cancelled()
        try:
            await consumer.run()
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001
            log.warning(
                "event consumer restarting", consumer=type(consumer).__name__, error=str(error)
            )
            await checked_sleep(RETRY_DELAY_S)
