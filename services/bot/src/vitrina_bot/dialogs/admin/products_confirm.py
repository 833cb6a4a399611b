"""Confirming a destructive action (deleting a product or a category).

With ``APP_CONF__BOT__ADMIN_CONFIRM_CODE`` set, the admin types the code; the message with
it is deleted from the chat. Unset, a button confirms. The button is checked on press too:
a stale or forged press cannot skip a code that is configured.
"""

from __future__ import annotations

import contextlib
import hmac
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, Message
from aiogram_dialog import DialogManager
from aiogram_dialog.widgets.input import ManagedTextInput, TextInput
from aiogram_dialog.widgets.kbd import Button
from pydantic import SecretStr

from vitrina_bot.dialogs.widgets import T
from vitrina_bot.i18n import Translator

# Tells the admin how it went (an alert after a button, a message after a typed code).
Notify = Callable[[str], Awaitable[object]]
OnConfirmed = Callable[[DialogManager, Notify], Awaitable[None]]


def _code(manager: DialogManager) -> SecretStr | None:
    code: SecretStr | None = manager.middleware_data.get("admin_confirm_code")
    return code


async def get_confirmation(admin_confirm_code: SecretStr | None, **_: Any) -> dict[str, Any]:
    """Whether this confirmation needs the code typed."""
    return {"code_required": admin_confirm_code is not None}


def _matches(typed: str, code: SecretStr) -> bool:
    # Constant time: how much of a wrong guess was right is not revealed by timing.
    return hmac.compare_digest(typed.strip().encode(), code.get_secret_value().encode())


def confirmation(on_confirmed: OnConfirmed) -> tuple[Any, ...]:
    """The widgets of a confirmation step: a prompt for the code, its input, the button."""

    async def on_button(event: CallbackQuery, _button: Button, manager: DialogManager) -> None:
        translate: Translator = manager.middleware_data["t"]
        if _code(manager) is not None:
            await event.answer(translate("admin.products.confirm.type_code"), show_alert=True)
            return

        async def alert(text: str) -> None:
            await event.answer(text, show_alert=True)

        await on_confirmed(manager, alert)

    async def on_text(
        message: Message, _widget: ManagedTextInput[str], manager: DialogManager, text: str
    ) -> None:
        translate: Translator = manager.middleware_data["t"]
        code = _code(manager)
        if code is None:
            await message.answer(translate("admin.products.confirm.press_button"))
            return
        with contextlib.suppress(TelegramAPIError):
            await message.delete()  # the code should not stay readable in the chat
        if not _matches(text, code):
            await message.answer(translate("admin.products.confirm.wrong_code"), parse_mode=None)
            return

        async def reply(text: str) -> None:
            await message.answer(text, parse_mode=None)

        await on_confirmed(manager, reply)

    return (
        T("admin.products.confirm.type_code", when="code_required"),
        TextInput(id="confirm_code", on_success=on_text),
        Button(
            T("admin.products.confirm.yes"),
            id="confirm",
            on_click=on_button,
            when=lambda data, *_: not data["code_required"],
        ),
    )
