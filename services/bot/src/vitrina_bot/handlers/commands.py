"""/help, /terms and /paysupport (the last two are required of Telegram Stars sellers), and
the command menu (the shortcuts /wishlist, /mine and /categories live in ``waitlist``)."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import BotCommand, BotCommandScopeDefault, Message

from vitrina_bot.dialogs.main_menu import shop_texts
from vitrina_bot.i18n import Translator, translator_for
from vitrina_common.db.models import Language

router = Router(name="commands")

COMMANDS = ("start", "help", "terms", "paysupport", "wishlist", "mine", "categories")


@router.message(Command("help"))
async def on_help(message: Message, t: Translator, shop_name: str, support_contact: str) -> None:
    """How buying works."""
    await message.answer(t("help.text", **shop_texts(shop_name, support_contact)))


@router.message(Command("terms"))
async def on_terms(message: Message, t: Translator, shop_name: str, support_contact: str) -> None:
    """Terms of sale."""
    await message.answer(t("terms.text", **shop_texts(shop_name, support_contact)))


@router.message(Command("paysupport"))
async def on_paysupport(
    message: Message, t: Translator, shop_name: str, support_contact: str
) -> None:
    """Where to get help with a payment."""
    await message.answer(t("paysupport.text", **shop_texts(shop_name, support_contact)))


async def register_commands(bot: Bot) -> None:
    """The command menu in English (default) and Russian (for ru clients)."""
    for language, code in ((Language.EN, None), (Language.RU, "ru")):
        translate = translator_for(language)
        commands = [
            BotCommand(command=name, description=translate(f"commands.{name}")) for name in COMMANDS
        ]
        await bot.set_my_commands(commands, scope=BotCommandScopeDefault(), language_code=code)
