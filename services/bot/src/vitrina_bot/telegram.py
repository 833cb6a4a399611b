"""The aiogram ``Bot``, pointed at Telegram's cloud or at a local Bot API server."""

from __future__ import annotations

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramUnauthorizedError
from aiogram.types import User

from vitrina_bot.middlewares.telemetry import RequestTelemetryMiddleware
from vitrina_bot.retries import RetryMiddleware
from vitrina_common.config import BotSettings


def create_bot(settings: BotSettings) -> Bot:
    """A Bot whose session talks to ``settings.api_url`` when set (local server, tests)."""
    session = (
        AiohttpSession(
            api=TelegramAPIServer.from_base(settings.api_url, is_local=settings.api_is_local)
        )
        if settings.api_url
        else AiohttpSession()
    )
    session.middleware(RetryMiddleware())
    # Inside the retries: every attempt is a span and counted (429s included).
    session.middleware(RequestTelemetryMiddleware())
    return Bot(
        token=settings.token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


class TelegramRejectedTokenError(RuntimeError):
    """Telegram answered 401: the token is wrong or was revoked in @BotFather."""


async def check_telegram(bot: Bot) -> User:
    """Who we are, per ``getMe``; a rejected token is final, anything else is retried."""
    try:
        return await bot.get_me()
    except TelegramUnauthorizedError as error:
        raise TelegramRejectedTokenError(
            "Telegram rejected the bot token (401 Unauthorized): check APP_CONF__BOT__TOKEN "
            "against @BotFather"
        ) from error
