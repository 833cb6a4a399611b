"""What polling and webhook share: which updates carry money, feeding them, replaying them."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.types import TelegramObject, Update

from vitrina_common.logging import get_logger
from vitrina_common.services.inbox import IncomingUpdate, UpdateInbox

log = get_logger(__name__)

# A live handler gets this long before a sweep assumes its process died and replays it.
SWEEP_GRACE = timedelta(seconds=60)
SWEEP_INTERVAL_S = 30.0


def carries_money(update: TelegramObject) -> bool:
    """pre_checkout_query and successful_payment: updates that must never be lost."""
    if not isinstance(update, Update):
        return False
    return update.pre_checkout_query is not None or (
        update.message is not None and update.message.successful_payment is not None
    )


def as_incoming(update: Update, keep_payload: bool) -> IncomingUpdate:
    """The inbox row of ``update``; the JSON is kept for money updates (to replay them)."""
    payload = update.model_dump(mode="json", exclude_none=True) if keep_payload else None
    return IncomingUpdate(update.update_id, update.event_type, payload)


class UpdateFeeder:
    """Feeds updates to the dispatcher and settles money updates in the inbox."""

    def __init__(self, bot: Bot, dispatcher: Dispatcher, inbox: UpdateInbox) -> None:
        self.bot = bot
        self.dispatcher = dispatcher
        self.inbox = inbox

    async def feed(self, update: Update, money: bool) -> None:
        """Process one update; a money update is marked processed only after success."""
        await self.dispatcher.feed_update(self.bot, update)
        if money:
            await self.inbox.mark_processed(update.update_id)

    async def replay_payload(self, payload: dict[str, Any]) -> None:
        """Process a stored money update again (after a crash)."""
        update = Update.model_validate(payload, context={"bot": self.bot})
        log.warning("replaying an unfinished payment update", update_id=update.update_id)
        await self.dispatcher.feed_update(self.bot, update)

    async def replay(self, older_than: timedelta = timedelta(0)) -> int:
        """Replay every unfinished money update received before ``older_than`` ago."""
        return await self.inbox.replay(self.replay_payload, older_than)

    async def sweep_forever(self) -> None:
        """Now and then, replay money updates whose processing never finished."""
        while True:
            await asyncio.sleep(SWEEP_INTERVAL_S)
            try:
                await self.replay(SWEEP_GRACE)
            except Exception as error:  # noqa: BLE001  (next sweep tries again)
                log.warning("inbox sweep failed", error=str(error))
