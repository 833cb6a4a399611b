"""/start: register the shopper and greet them."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import CommandStart
from aiogram.types import Message

from vitrina_common.db.models import Language
from vitrina_common.services.users import RegisterUser

router = Router(name="start")

_GREETING = {
    Language.EN: "Welcome to {shop}! The catalog opens here soon.",
    Language.RU: "Добро пожаловать в {shop}! Каталог скоро откроется здесь.",
}


@router.message(CommandStart())
async def on_start(message: Message, register_user: RegisterUser, shop_name: str) -> None:
    """Upsert the user, then answer in their language."""
    sender = message.from_user
    if sender is None:
        return
    user = await register_user(sender.id, sender.username, sender.first_name, sender.language_code)
    await message.answer(_GREETING[user.language].format(shop=shop_name))
