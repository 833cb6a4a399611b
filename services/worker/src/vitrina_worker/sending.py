"""The worker's one way to Telegram for non-interactive sends: one HTTP session, one Bot API
transport and one global budget, from which the broadcast and notification senders each
get a ``Sender`` (so together they stay under the budget, and each counts its own sends)."""

from __future__ import annotations

import aiohttp
from nats.js import JetStreamContext

from vitrina_common.config import Settings
from vitrina_common.sending import BotApiTransport, GlobalBudget, Sender
from vitrina_common.sending.telegram import TELEGRAM_API


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
