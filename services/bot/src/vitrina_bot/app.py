"""Wiring of the bot process: runtime, dispatcher, polling, graceful stop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from aiogram import Dispatcher
from aiogram.types import User

from vitrina_bot.handlers import build_root_router
from vitrina_bot.telegram import TelegramRejectedTokenError, check_telegram, create_bot
from vitrina_common.config import Settings
from vitrina_common.lifecycle import run_unless_stopped, stop_event_on_signals
from vitrina_common.logging import get_logger
from vitrina_common.retry import retry_until_ready
from vitrina_common.runtime import ServiceRuntime
from vitrina_common.services.users import RegisterUser

log = get_logger(__name__)


def build_dispatcher(runtime: ServiceRuntime) -> Dispatcher:
    """The dispatcher with every router and the use cases handlers ask for by name."""
    dispatcher = Dispatcher(
        register_user=RegisterUser(runtime.session_factory),
        shop_name=runtime.settings.shop.name,
    )
    dispatcher.include_router(build_root_router())
    return dispatcher


_FINAL = (TelegramRejectedTokenError,)


async def _log_identity(telegram: Awaitable[User]) -> None:
    me = await telegram
    log.info("telegram reachable", bot_username=me.username, bot_id=me.id)


async def run_bot(settings: Settings) -> None:
    """Run until SIGTERM/SIGINT: probes first, then dependencies, then polling."""
    stop = stop_event_on_signals()
    runtime = ServiceRuntime(settings, "bot", settings.bot.health_port)
    bot = create_bot(settings.bot)
    try:
        if not await run_unless_stopped(runtime.start(), stop):
            return
        telegram = retry_until_ready(lambda: check_telegram(bot), "telegram", final=_FINAL)
        if not await run_unless_stopped(_log_identity(telegram), stop):
            return
        dispatcher = build_dispatcher(runtime)
        polling = asyncio.create_task(
            dispatcher.start_polling(bot, handle_signals=False, close_bot_session=False)
        )
        await asyncio.wait(
            {polling, asyncio.ensure_future(stop.wait())}, return_when=asyncio.FIRST_COMPLETED
        )
        if not polling.done():
            await dispatcher.stop_polling()
        await polling
    finally:
        log.info("bot stopping")
        await bot.session.close()
        await runtime.close()
