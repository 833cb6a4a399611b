"""``python -m bench.bot_echo <api url>``: the peer of ``bench.bot``, a bare aiogram echo bot.

Nothing but aiogram's defaults: ``Dispatcher.start_polling`` against the fake Bot API at
``<api url>``, every text message echoed with ``message.answer(message.text)``, every
callback query answered. No database, no FSM storage use, no middlewares, no logging setup.
"""

from __future__ import annotations

import asyncio
import sys

from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import CallbackQuery, Message

from tests.fakes.telegram_api import TOKEN

dispatcher = Dispatcher()


@dispatcher.message(F.text)
async def echo(message: Message) -> None:
    """Send the text back."""
    await message.answer(message.text or "")


@dispatcher.callback_query()
async def answer(callback: CallbackQuery) -> None:
    """Answer the button press (stops the spinner)."""
    await callback.answer()


async def run(api_url: str) -> None:
    """Poll until SIGTERM/SIGINT (``start_polling`` handles both)."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_url))
    bot = Bot(token=TOKEN, session=session)
    await dispatcher.start_polling(bot)


if __name__ == "__main__":
    asyncio.run(run(sys.argv[1]))
