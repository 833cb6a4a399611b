"""The aiogram ``Bot``, pointed at Telegram's cloud or at a local Bot API server."""

from __future__ import annotations

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode

from vitrina_common.config import BotSettings


def create_bot(settings: BotSettings) -> Bot:
    """A Bot whose session talks to ``settings.api_url`` when set (local server, tests)."""
    session = (
        AiohttpSession(api=TelegramAPIServer.from_base(settings.api_url))
        if settings.api_url
        else AiohttpSession()
    )
    return Bot(
        token=settings.token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )
