"""``python -m bench.bot_echo <api url> [--edit | --dialog | --dialog-kv <nats url>]``: the
peers of ``bench.bot``.

Nothing but aiogram's defaults: ``Dispatcher.start_polling`` against the fake Bot API at
``<api url>``, every text message echoed with ``message.answer(message.text)``, every
callback query answered. No database, no FSM storage use, no middlewares, no logging setup.

With ``--edit`` the echo does the Telegram work a screen change costs any bot: the text comes
back with a keyboard as big as a catalog page (10 buttons), and a button press is answered
*and* the message edited in place (``editMessageText`` with the keyboard), as our bot does on
every tap. The plain echo answers a press with one ``answerCallbackQuery`` and nothing else.

With ``--dialog`` the same screen is an aiogram-dialog window (memory storage, a ``Select`` of
10 static items, a press counted in ``dialog_data`` and the window rendered again): what the
framework our issue prescribes for menus and paging costs by itself, with no database.

With ``--dialog-kv`` the same dialog keeps its state where ours does in production: our
``NatsKVStorage`` on the ``fsm`` bucket, configured as ``run_bot`` configures it for polling
(one writer, local copies), so a comparison with our bot measures our work, not a storage
the peer does not have.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
from typing import Any

from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import BaseStorage
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram_dialog import Dialog, DialogManager, StartMode, Window, setup_dialogs
from aiogram_dialog.widgets.kbd import Group, Select
from aiogram_dialog.widgets.text import Format

from tests.fakes.telegram_api import TOKEN
from vitrina_bot.storage import NatsKVStorage
from vitrina_common.config import NatsSettings
from vitrina_common.messaging.connection import connect_nats

KEYBOARD = InlineKeyboardMarkup(
    inline_keyboard=[
        [
            InlineKeyboardButton(text=f"Product {row * 2 + column} · 150 ⭐", callback_data="echo")
            for column in range(2)
        ]
        for row in range(5)
    ]
)
EDITS = itertools.count(1)


def plain_echo() -> Dispatcher:
    """Text back; a press answered, nothing else."""
    dispatcher = Dispatcher()

    @dispatcher.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    @dispatcher.callback_query()
    async def answer(callback: CallbackQuery) -> None:
        await callback.answer()

    return dispatcher


def editing_echo() -> Dispatcher:
    """Text back with a keyboard; a press answered and the message edited in place."""
    dispatcher = Dispatcher()

    @dispatcher.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(message.text or "", reply_markup=KEYBOARD)

    @dispatcher.callback_query()
    async def edit(callback: CallbackQuery) -> None:
        await callback.answer()
        if isinstance(callback.message, Message):
            # A new text each time: Telegram refuses an edit that changes nothing.
            await callback.message.edit_text(f"echo #{next(EDITS)}", reply_markup=KEYBOARD)

    return dispatcher


class EchoSG(StatesGroup):
    main = State()


async def _pressed(_event: CallbackQuery, _widget: Any, manager: DialogManager, _item: str) -> None:
    manager.dialog_data["presses"] = int(manager.dialog_data.get("presses", 0)) + 1


async def _screen(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    return {"presses": dialog_manager.dialog_data.get("presses", 0), "items": list(range(10))}


def dialog_echo(storage: BaseStorage | None = None) -> Dispatcher:
    """Text starts a one-window dialog; a press re-renders it (aiogram-dialog's defaults;
    ``storage``: where the dialogs live, memory by default)."""
    dispatcher = Dispatcher(storage=storage) if storage is not None else Dispatcher()
    dispatcher.include_router(
        Dialog(
            Window(
                Format("echo #{presses}"),
                Group(
                    Select(
                        Format("Product {item} · 150 ⭐"),
                        id="item",
                        item_id_getter=str,
                        items="items",
                        on_click=_pressed,
                    ),
                    width=2,
                ),
                getter=_screen,
                state=EchoSG.main,
            )
        )
    )

    @dispatcher.message(F.text)
    async def start(_message: Message, dialog_manager: DialogManager) -> None:
        await dialog_manager.start(EchoSG.main, mode=StartMode.RESET_STACK)

    setup_dialogs(dispatcher)
    return dispatcher


async def kv_storage(nats_url: str) -> NatsKVStorage:
    """Our production FSM storage for polling mode, connected as the NATS user the
    environment names (the harness passes the bot's: ``devstack.nats.credentials_env``)."""
    settings = NatsSettings.model_validate(
        {
            "url": nats_url,
            "user": os.environ.get("APP_CONF__NATS__USER"),
            "password": os.environ.get("APP_CONF__NATS__PASSWORD"),
        }
    )
    client = await connect_nats(settings, name="bench-dialog-peer")
    return await NatsKVStorage.create(client.jetstream(), single_writer=True)


async def run(api_url: str, mode: str = "", nats_url: str = "") -> None:
    """Poll until SIGTERM/SIGINT (``start_polling`` handles both)."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_url))
    bot = Bot(token=TOKEN, session=session)
    if mode == "--dialog-kv":
        dispatcher = dialog_echo(await kv_storage(nats_url))
    else:
        peers = {"--edit": editing_echo, "--dialog": dialog_echo}
        dispatcher = peers.get(mode, plain_echo)()
    await dispatcher.start_polling(bot)


if __name__ == "__main__":
    asyncio.run(run(*sys.argv[1:4]))
