"""The last router: anything no other handler took gets the menu back.

Admin-only commands land here for everyone else, so to a shopper they look unknown.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.types import Message
from aiogram_dialog import DialogManager, StartMode

from vitrina_bot.dialogs.states import MainMenu

router = Router(name="fallback")


@router.message()
async def on_anything_else(message: Message, dialog_manager: DialogManager) -> None:
    """Show the main menu (a fresh one, at the bottom of the chat)."""
    del message
    await dialog_manager.start(MainMenu.main, mode=StartMode.RESET_STACK)
