"""The admin's user card and what changes it: email, comment, ban and unban.

Every value a user typed (name, username, email) and the admin's comment are HTML-escaped
before they reach a message: the bot speaks HTML, and a name like ``<b`` would otherwise
make Telegram refuse the whole screen.
"""

from __future__ import annotations

from datetime import UTC
from html import escape
from typing import Any

from aiogram.types import CallbackQuery, Message
from aiogram_dialog import DialogManager, Window
from aiogram_dialog.widgets.input import ManagedTextInput, TextInput
from aiogram_dialog.widgets.kbd import Button, Row, SwitchTo

from vitrina_bot.dialogs.admin.users_states import AdminUsersSG
from vitrina_bot.dialogs.widgets import T
from vitrina_bot.i18n import Translator
from vitrina_common.services.admin_users import (
    MAX_COMMENT_LENGTH,
    AdminUsers,
    CommentOutcome,
    UserCard,
)
from vitrina_common.services.profile import EmailOutcome

USER_KEY = "telegram_id"


def selected_user(manager: DialogManager) -> int:
    """The Telegram id of the user whose card is open (0 before one is chosen)."""
    return int(manager.dialog_data.get(USER_KEY, 0))


def shown_name(first_name: str | None) -> str:
    """A user's name, safe inside an HTML message."""
    return escape(first_name or "—")


async def get_card(
    dialog_manager: DialogManager, admin_users: AdminUsers, **_: Any
) -> dict[str, Any]:
    """The card's values; ``found`` is False for a user who is not there."""
    translate: Translator = dialog_manager.middleware_data["t"]
    card = await admin_users.card(selected_user(dialog_manager))
    if card is None:
        # Every key the windows format, so a forged button on a missing user renders.
        return {
            "found": False,
            "name": "—",
            "email": "—",
            "comment_now": "—",
            "max": MAX_COMMENT_LENGTH,
        }
    return {
        "found": True,
        "name": shown_name(card.first_name),
        "username": f"@{escape(card.username)}" if card.username else "",
        "telegram_id": card.telegram_id,
        "email": escape(card.email) if card.email else translate("admin.users.no_email"),
        "language": translate(f"language.{card.language.value}"),
        "joined": f"{card.joined_at.astimezone(UTC):%Y-%m-%d}",
        "purchases": card.purchases,
        "stars": card.stars_spent,
        "refunded": card.refunded,
        "is_banned": card.is_banned,
        **_standing(card, translate),
        "comment": escape(card.comment or ""),
        "comment_now": escape(card.comment or translate("admin.users.no_comment")),
        "max": MAX_COMMENT_LENGTH,
    }


def _standing(card: UserCard, translate: Translator) -> dict[str, str]:
    """Banned or not, blocked the bot or not: both said, so "no" is visible too."""
    if card.is_banned:
        banned = translate("admin.users.banned_yes")
    else:
        banned = translate("admin.users.banned_no")
    if card.is_blocked:
        blocked = translate("admin.users.blocked_yes")
    else:
        blocked = translate("admin.users.blocked_no")
    return {"banned": banned, "blocked": blocked}


async def _set_banned(event: CallbackQuery, manager: DialogManager, banned: bool) -> None:
    admin_users: AdminUsers = manager.middleware_data["admin_users"]
    translate: Translator = manager.middleware_data["t"]
    await admin_users.set_banned(selected_user(manager), banned)
    notice = translate("admin.users.banned") if banned else translate("admin.users.unbanned")
    await event.answer(notice)


async def on_ban(event: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    """Ban the user; the bot stops listening to them."""
    await _set_banned(event, manager, banned=True)


async def on_unban(event: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    """Lift the ban."""
    await _set_banned(event, manager, banned=False)


async def on_email(
    message: Message, _widget: ManagedTextInput[str], manager: DialogManager, text: str
) -> None:
    """Save the address under the profile's rules, or say why not and stay on the prompt."""
    admin_users: AdminUsers = manager.middleware_data["admin_users"]
    translate: Translator = manager.middleware_data["t"]
    outcome = await admin_users.set_email(selected_user(manager), text)
    match outcome:
        case EmailOutcome.SAVED:
            await message.answer(translate("admin.users.email_saved"))
            await manager.switch_to(AdminUsersSG.card)
        case EmailOutcome.INVALID:
            await message.answer(translate("admin.users.email_invalid"))
        case EmailOutcome.TAKEN:
            await message.answer(translate("admin.users.email_taken"))


async def on_comment(
    message: Message, _widget: ManagedTextInput[str], manager: DialogManager, text: str
) -> None:
    """Save the comment, or say it is too long and stay on the prompt."""
    await message.answer(await _save_comment(manager, text))


async def on_clear_comment(event: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    """Remove the comment."""
    await event.answer(await _save_comment(manager, None))


async def _save_comment(manager: DialogManager, text: str | None) -> str:
    """Save, go back to the card unless refused; what to tell the admin."""
    admin_users: AdminUsers = manager.middleware_data["admin_users"]
    translate: Translator = manager.middleware_data["t"]
    outcome = await admin_users.set_comment(selected_user(manager), text)
    if outcome is CommentOutcome.TOO_LONG:
        return translate("admin.users.comment_too_long", max=MAX_COMMENT_LENGTH)
    await manager.switch_to(AdminUsersSG.card)
    if outcome is CommentOutcome.SAVED:
        return translate("admin.users.comment_saved")
    return translate("admin.users.comment_cleared")


def _found(data: dict[str, Any], *_: Any) -> bool:
    return bool(data["found"])


def _can_ban(data: dict[str, Any], *_: Any) -> bool:
    return bool(data["found"]) and not data["is_banned"]


card_window = Window(
    T("admin.users.card", when="found"),
    T("admin.users.refunded_line", when="refunded"),
    T("admin.users.comment_line", when="comment"),
    T("admin.users.gone", when=lambda data, *_: not data["found"]),
    Row(
        SwitchTo(T("admin.users.purchases"), id="purchases", state=AdminUsersSG.purchases),
        SwitchTo(T("admin.users.set_email"), id="email", state=AdminUsersSG.email),
        when=_found,
    ),
    Row(
        SwitchTo(T("admin.users.comment"), id="comment", state=AdminUsersSG.comment),
        Button(T("admin.users.ban"), id="ban", on_click=on_ban, when=_can_ban),
        Button(T("admin.users.unban"), id="unban", on_click=on_unban, when="is_banned"),
        when=_found,
    ),
    SwitchTo(T("admin.users.back_to_results"), id="to_results", state=AdminUsersSG.results),
    getter=get_card,
    state=AdminUsersSG.card,
)

email_window = Window(
    T("admin.users.email_prompt"),
    TextInput(id="new_email", on_success=on_email),
    SwitchTo(T("admin.users.back_to_card"), id="email_back", state=AdminUsersSG.card),
    getter=get_card,
    state=AdminUsersSG.email,
)

comment_window = Window(
    T("admin.users.comment_prompt"),
    TextInput(id="new_comment", on_success=on_comment),
    Button(T("admin.users.clear_comment"), id="clear_comment", on_click=on_clear_comment),
    SwitchTo(T("admin.users.back_to_card"), id="comment_back", state=AdminUsersSG.card),
    getter=get_card,
    state=AdminUsersSG.comment,
)
