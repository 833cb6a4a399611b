"""/start: register the shopper (language from Telegram on first contact), open the menu."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import CommandStart
from aiogram.types import Message
from aiogram_dialog import DialogManager, StartMode

from vitrina_bot.dialogs.states import MainMenu
from vitrina_bot.i18n import translator_for
from vitrina_common.services.users import RegisterUser

router = Router(name="start")


@router.message(CommandStart())
async def on_start(
    message: Message, register_user: RegisterUser, dialog_manager: DialogManager
) -> None:
    """Upsert the user, then show the main menu in their language."""
    sender = message.from_user
    if sender is None:
        return
    user = await register_user(sender.id, sender.username, sender.first_name, sender.language_code)
    # A first /start creates the user: the middleware could not know their language yet.
    dialog_manager.middleware_data["t"] = translator_for(user.language)
    await dialog_manager.start(MainMenu.main, mode=StartMode.RESET_STACK)
