"""Who is writing and in which language: loaded once per update for every handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, User

from vitrina_bot.i18n import translator_for
from vitrina_common.services.profile import Profiles
from vitrina_common.services.users import language_from_telegram

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class UserContextMiddleware(BaseMiddleware):
    """Puts ``t`` (the user's translator) and ``user_context`` into the handler data."""

    def __init__(self, profiles: Profiles) -> None:
        self._profiles = profiles

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        sender: User | None = data.get("event_from_user")
        context = await self._profiles.context(sender.id) if sender is not None else None
        language = (
            context.language
            if context is not None
            else language_from_telegram(sender.language_code if sender else None)
        )
        data["user_context"] = context
        data["t"] = translator_for(language)
        return await handler(event, data)
