"""Long polling that never loses a payment.

aiogram's ``start_polling`` asks for the next batch (which confirms the previous one to
Telegram) while handler tasks may still run, so a crash there loses those updates. Here
the money updates of each batch are written to the inbox *before* the next getUpdates, and
processed through it (a row lock each: one seen again after a crash is processed if it is
still open, skipped if not); the rest run as concurrent tasks as usual. Only one poller may
run per token (Telegram answers 409 Conflict to a second one).
"""

from __future__ import annotations

import asyncio
import contextlib

from aiogram.exceptions import TelegramNetworkError, TelegramServerError
from aiogram.types import Update
from sqlalchemy.exc import SQLAlchemyError

from vitrina_bot.updates.intake import UpdateFeeder, as_incoming, carries_money
from vitrina_common.logging import get_logger

log = get_logger(__name__)

POLL_TIMEOUT_S = 25
MAX_BACKOFF_S = 30.0


class CrashSafePolling:
    """The polling loop; ``run`` returns when ``stop`` is set and in-flight updates finished."""

    def __init__(self, feeder: UpdateFeeder, allowed_updates: list[str]) -> None:
        self._feeder = feeder
        self._allowed_updates = allowed_updates
        self._tasks: set[asyncio.Task[None]] = set()

    async def _fetch(self, offset: int | None) -> list[Update]:
        bot = self._feeder.bot
        return await bot.get_updates(
            offset=offset,
            timeout=POLL_TIMEOUT_S,
            allowed_updates=self._allowed_updates,
            request_timeout=POLL_TIMEOUT_S + 10,
        )

    async def _admit(self, updates: list[Update]) -> None:
        money = [as_incoming(u, keep_payload=True) for u in updates if carries_money(u)]
        if money:
            await self._feeder.inbox.admit(money)

    def _dispatch(self, update: Update) -> None:
        task = asyncio.create_task(self._run_one(update))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_one(self, update: Update) -> None:
        try:
            if carries_money(update):
                await self._feeder.feed_money(update.update_id)
            else:
                await self._feeder.feed(update)
        except Exception:
            log.exception("update failed", update_id=update.update_id)

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until ``stop``; then wait for the updates already taken."""
        await self._feeder.bot.delete_webhook(drop_pending_updates=False)
        await self._feeder.replay()
        offset: int | None = None
        delay = 1.0
        stopping = asyncio.ensure_future(stop.wait())
        while not stop.is_set():
            fetching = asyncio.ensure_future(self._fetch(offset))
            await asyncio.wait({fetching, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not fetching.done():
                fetching.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await fetching
                break
            try:
                updates = fetching.result()
                # Durable before the next offset confirms them; if not, the same offset
                # asks Telegram for them again.
                await self._admit(updates)
            except (TelegramNetworkError, TelegramServerError, SQLAlchemyError, OSError) as error:
                log.warning("getUpdates failed, retrying", error=str(error), retry_in_s=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF_S)
                continue
            delay = 1.0
            for update in updates:
                self._dispatch(update)
            if updates:
                offset = updates[-1].update_id + 1
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=10)
