"""What polling and webhook share: which updates carry money, feeding them, replaying them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiogram import Bot, Dispatcher
from aiogram.types import TelegramObject, Update

from vitrina_common.cancellation import checked_sleep
from vitrina_common.logging import get_logger
from vitrina_common.repositories.updates import OpenUpdate
from vitrina_common.services.inbox import IncomingUpdate, Settled, UpdateInbox

log = get_logger(__name__)

# Money updates whose next attempt is due are looked for this often: a failed
# pre-checkout has seconds, not minutes, to be answered.
SWEEP_INTERVAL_S = 2.0
# Of Telegram's 10 s for a pre-checkout answer, the verdict may take this much (measured
# from when the update was received); the answer itself gets the rest.
PRE_CHECKOUT_VERDICT_S = 8.0


def carries_money(update: TelegramObject) -> bool:
    """pre_checkout_query, successful_payment and refunded_payment: never to be lost."""
    if not isinstance(update, Update):
        return False
    if update.pre_checkout_query is not None:
        return True
    message = update.message
    return message is not None and (
        message.successful_payment is not None or message.refunded_payment is not None
    )


def as_incoming(update: Update, keep_payload: bool) -> IncomingUpdate:
    """The inbox row of ``update``; the JSON is kept for money updates (to replay them)."""
    payload = update.model_dump(mode="json", exclude_none=True) if keep_payload else None
    return IncomingUpdate(update.update_id, update.event_type, payload)


class UpdateFeeder:
    """Feeds updates to the dispatcher; money updates through the inbox (see
    ``vitrina_common.services.inbox``)."""

    def __init__(
        self,
        bot: Bot,
        dispatcher: Dispatcher,
        inbox: UpdateInbox,
        wake_outbox: Callable[[], None] = lambda: None,
    ) -> None:
        self.bot = bot
        self.dispatcher = dispatcher
        self.inbox = inbox
        self._wake_outbox = wake_outbox

    async def feed(self, update: Update) -> None:
        """Process one update that carries no money."""
        await self.dispatcher.feed_update(self.bot, update)

    async def feed_money(self, update_id: int) -> Settled:
        """Process an admitted money update now, unless it is closed or held elsewhere."""
        return self._after(await self.inbox.process(update_id, self._handle))

    async def replay(self) -> None:
        """Attempt every money update that is due; a failure is logged, never raised (a
        bad row must not stop a start-up or a sweep)."""
        try:
            for settled in await self.inbox.replay_due(self._handle):
                self._after(settled)
        except Exception as error:  # noqa: BLE001  (database trouble: the next sweep retries)
            log.warning("inbox replay failed", error=str(error))

    async def sweep_forever(self) -> None:
        """Now and then, attempt money updates whose processing never finished or failed."""
        while True:
            await checked_sleep(SWEEP_INTERVAL_S)
            await self.replay()

    async def _handle(self, row: OpenUpdate) -> None:
        update = Update.model_validate(row.payload, context={"bot": self.bot})
        loop = asyncio.get_running_loop()
        # The handler's deadline follows the update's age: a replayed pre-checkout that
        # waited 3 s has 5 s left for its verdict, not 8.
        deadline = loop.time() + max(PRE_CHECKOUT_VERDICT_S - row.age_s, 0.0)
        await self.dispatcher.feed_update(self.bot, update, money_deadline=deadline)

    def _after(self, settled: Settled) -> Settled:
        if settled is Settled.DEAD:
            self._wake_outbox()  # the admins' alert is in the outbox
        return settled
