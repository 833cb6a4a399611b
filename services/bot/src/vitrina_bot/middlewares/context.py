"""Who is writing and in which language: loaded once per update for every handler.

Updates from a user the shop banned are dropped here, before any handler: a banned user
gets no answer at all (admins cannot be banned out of their own shop). Money-carrying
updates are the exception: an invoice sent before the ban may still be paid, and a payment
Telegram took must be recorded and delivered (or refunded by an admin), never dropped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, User

from vitrina_bot.i18n import translator_for
from vitrina_bot.updates.intake import carries_money
from vitrina_common.logging import get_logger
from vitrina_common.services.profile import Profiles, UserContext
from vitrina_common.services.users import language_from_telegram

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

log = get_logger(__name__)


class UserContextMiddleware(BaseMiddleware):
    """Puts ``t`` (the user's translator) and ``user_context`` into the handler data."""

    def __init__(self, profiles: Profiles, admin_ids: frozenset[int]) -> None:
        self._profiles = profiles
        self._admin_ids = admin_ids

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        sender: User | None = data.get("event_from_user")
        context = await self._profiles.context(sender.id) if sender is not None else None
        if sender is not None and context is not None and self._ignored(sender, context, event):
            log.info("update from a banned user ignored", telegram_id=sender.id)
            return None
        language = (
            context.language
            if context is not None
            else language_from_telegram(sender.language_code if sender else None)
        )
        data["user_context"] = context
        data["t"] = translator_for(language)
        return await handler(event, data)

    def _ignored(self, sender: User, context: UserContext, event: TelegramObject) -> bool:
        return context.is_banned and sender.id not in self._admin_ids and not carries_money(event)
