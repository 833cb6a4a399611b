"""Admin area: users. Find a user by Telegram id, @username or email; their card (email,
comment, ban), their purchases, and a purchase's card with Refund.

Windows live in ``users_card`` and ``users_purchases``; this module has the search and
puts the dialogs together.
"""

from __future__ import annotations

from html import escape
from typing import Any

from aiogram.types import CallbackQuery, Message
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.input import ManagedTextInput, TextInput
from aiogram_dialog.widgets.kbd import Cancel, SwitchTo

from vitrina_bot.dialogs.admin.users_card import USER_KEY, card_window, comment_window, email_window
from vitrina_bot.dialogs.admin.users_purchases import purchase_dialog, purchases_window
from vitrina_bot.dialogs.admin.users_states import AdminUsersSG
from vitrina_bot.dialogs.widgets import PAGE_SIZE, T, current_page, paged_list, pages
from vitrina_common.ids import parse_id
from vitrina_common.services.admin_users import MAX_QUERY_LENGTH, AdminUsers, UserItem

SCROLL = "users_scroll"
ENTRY = AdminUsersSG.search


async def on_query(
    _message: Message, _widget: ManagedTextInput[str], manager: DialogManager, text: str
) -> None:
    """Keep the query and show its first page of users."""
    manager.dialog_data["query"] = text.strip()[:MAX_QUERY_LENGTH]
    await manager.find(SCROLL).set_page(0)  # type: ignore[union-attr]
    await manager.switch_to(AdminUsersSG.results)


def _label(user: UserItem) -> str:
    parts = [("🚫 " if user.is_banned else "") + (user.first_name or "—")]
    if user.username:
        parts.append(f"@{user.username}")
    parts.append(str(user.telegram_id))
    return " · ".join(parts)


async def get_results(
    dialog_manager: DialogManager, admin_users: AdminUsers, **_: Any
) -> dict[str, Any]:
    """One page of the users the stored query finds."""
    query = str(dialog_manager.dialog_data.get("query", ""))
    index = await current_page(dialog_manager, SCROLL)
    page = await admin_users.search(query, index * PAGE_SIZE, PAGE_SIZE)
    return {
        "query": escape(query),
        "users": [(user.telegram_id, _label(user)) for user in page.items],
        "count": page.total,
        "pages": pages(page.total),
        "page": index + 1,
    }


async def on_user(
    _event: CallbackQuery, _widget: Any, manager: DialogManager, telegram_id: str
) -> None:
    """Open the user's card."""
    if (parsed := parse_id(telegram_id)) is not None:
        manager.dialog_data[USER_KEY] = parsed
        await manager.switch_to(AdminUsersSG.card)


users_dialog = Dialog(
    Window(
        T("admin.users.search_prompt"),
        TextInput(id="user_query", on_success=on_query),
        Cancel(T("admin.menu.back")),
        state=AdminUsersSG.search,
    ),
    Window(
        T("admin.users.results", when="count"),
        T("admin.users.nothing_found", when=lambda data, *_: not data["count"]),
        *paged_list(SCROLL, "user", "users", "{item[1]}", on_user),
        SwitchTo(T("admin.users.new_search"), id="new_search", state=AdminUsersSG.search),
        Cancel(T("admin.menu.back")),
        getter=get_results,
        state=AdminUsersSG.results,
    ),
    card_window,
    email_window,
    comment_window,
    purchases_window,
)

dialogs = (users_dialog, purchase_dialog)
