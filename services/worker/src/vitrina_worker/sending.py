"""The worker's one way to Telegram for non-interactive sends: one HTTP session, one Bot API
transport and one global budget, from which the broadcast and notification senders each
get a ``Sender`` (so together they stay under the budget, and each counts its own sends)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import aiohttp
from nats.js import JetStreamContext

from vitrina_common.cancellation import cancel_and_wait, checked_sleep, raise_if_cancelled
from vitrina_common.config import Settings
from vitrina_common.logging import get_logger
from vitrina_common.sending import BotApiTransport, GlobalBudget, Sender
from vitrina_common.sending.telegram import TELEGRAM_API

log = get_logger(__name__)

# One pass of a sender loop, given the loop's index: True when it sent something (go again
# at once), False when nothing was due (pause before the next).
SenderPass = Callable[[int], Awaitable[bool]]


class TelegramSending:
    """``open`` after the runtime is up, ``close`` after every sender stopped."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._http: aiohttp.ClientSession | None = None
        self._budget: GlobalBudget | None = None
        self._transport: BotApiTransport | None = None

    async def open(self, js: JetStreamContext) -> None:
        """Open the HTTP session and the shared budget."""
        self._http = aiohttp.ClientSession()
        self._transport = BotApiTransport(
            self._http,
            self._settings.bot.token.get_secret_value(),
            self._settings.bot.api_url or TELEGRAM_API,
        )
        self._budget = await GlobalBudget.open(js, self._settings.sending.rate_per_s)

    def sender(self, kind: str) -> Sender:
        """A sender drawing from the shared budget; ``kind`` labels its sends' metric."""
        if self._budget is None or self._transport is None:
            raise RuntimeError("TelegramSending.open() first")
        return Sender(self._budget, self._transport, kind=kind)

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._http is not None:
            await self._http.close()


class SenderLoops:
    """``count`` loops running a ``SenderPass`` each; a failing pass (a database hiccup) is
    logged and the next one retries. ``stop`` lets each record its send in flight first."""

    def __init__(self, name: str, idle_s: float) -> None:
        self._name = name
        self._idle_s = idle_s
        self._loops: list[asyncio.Task[None]] = []

    def start(self, count: int, one_pass: SenderPass) -> None:
        """Start the loops."""
        self._loops = [
            asyncio.create_task(self._loop(one_pass, index), name=f"{self._name}-{index}")
            for index in range(count)
        ]

    async def _loop(self, one_pass: SenderPass, index: int) -> None:
        while True:
            raise_if_cancelled()
            try:
                if await one_pass(index):
                    continue
            except Exception as error:  # noqa: BLE001  (the next pass retries)
                log.warning(
                    "sender pass failed", loop=self._name, error=f"{type(error).__name__}: {error}"
                )
            await checked_sleep(self._idle_s)

    async def stop(self) -> None:
        """Cancel the loops."""
        await cancel_and_wait(self._loops)
