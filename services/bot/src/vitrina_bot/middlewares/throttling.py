"""Per-user throttling: a token bucket per sender, in memory (per replica)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, TelegramObject, Update, User

from vitrina_bot.i18n import Translator
from vitrina_bot.updates.intake import carries_money

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
_FORGET_AFTER_S = 600.0


class ThrottlingMiddleware(BaseMiddleware):
    """Lets each user send ``burst`` updates at once and ``rate`` per second after that.

    Money never waits: pre-checkout queries and payments pass untouched, since Telegram
    gives a pre-checkout answer 10 seconds and a payment is already made. Nor do the
    shop's admins (``exempt``): the limit protects the shop from its visitors, and an admin
    working through screens and files quickly is the shop itself.
    """

    def __init__(
        self,
        rate: float,
        burst: int,
        exempt: frozenset[int] = frozenset(),
    ) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._exempt = exempt
        self._buckets: dict[int, tuple[float, float]] = {}
        self._last_sweep = time.monotonic()

    def _allow(self, user_id: int) -> bool:
        if user_id in self._exempt:
            return True
        now = time.monotonic()
        tokens, stamp = self._buckets.get(user_id, (self._burst, now))
        tokens = min(self._burst, tokens + (now - stamp) * self._rate)
        allowed = tokens >= 1.0
        self._buckets[user_id] = (tokens - 1.0 if allowed else tokens, now)
        if now - self._last_sweep > _FORGET_AFTER_S:
            self._sweep(now)
        return allowed

    def _sweep(self, now: float) -> None:
        self._last_sweep = now
        stale = [uid for uid, (_, seen) in self._buckets.items() if now - seen > _FORGET_AFTER_S]
        for user_id in stale:
            del self._buckets[user_id]

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        sender: User | None = data.get("event_from_user")
        if sender is None or carries_money(event) or self._allow(sender.id):
            return await handler(event, data)
        if isinstance(event, Update) and isinstance(event.event, CallbackQuery):
            translate: Translator | None = data.get("t")
            if translate is not None:
                await event.event.answer(translate("errors.too_many_requests"))
        return None
