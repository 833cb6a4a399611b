"""A product's limited edition from its admin card: the edition size, the waitlist in
order (move someone up or down, remove them) and the log of reservations.

The use cases check the admin again (``AdminWaitlist``): a forged button of these screens
sent by anyone else is refused, not obeyed.
"""

from __future__ import annotations

import html
from typing import Any

from aiogram.types import CallbackQuery, Message
from aiogram_dialog import DialogManager, Window
from aiogram_dialog.widgets.input import ManagedTextInput, TextInput
from aiogram_dialog.widgets.kbd import Button, Row, StubScroll, SwitchTo

from vitrina_bot.dialogs.admin.products_edit import product_id
from vitrina_bot.dialogs.admin.products_states import AdminProductSG
from vitrina_bot.dialogs.widgets import (
    PAGE_SIZE,
    T,
    current_page,
    id_item,
    paged_list,
    pager,
    pages,
)
from vitrina_bot.dialogs.widgets import sender_id as admin_of
from vitrina_bot.i18n import Translator
from vitrina_common.repositories.waitlist import WaitingLine
from vitrina_common.services.waitlist.admin import AdminWaitlist, AdminWaitlistRefusal

LINE_SCROLL = "admin_waitlist_scroll"
LOG_SCROLL = "admin_reservations_scroll"
_ENTRY = "waitlist_entry_id"


def _who(line: WaitingLine) -> str:
    name = f"@{line.username}" if line.username else (line.first_name or "—")
    return f"{line.position}. {name} ({line.telegram_id})"


async def get_line(
    dialog_manager: DialogManager, admin_waitlist: AdminWaitlist, **_: Any
) -> dict[str, Any]:
    """One page of the product's line, in order."""
    page = await current_page(dialog_manager, LINE_SCROLL)
    found = await admin_waitlist.line(
        admin_of(dialog_manager) or 0, product_id(dialog_manager), page * PAGE_SIZE, PAGE_SIZE
    )
    items = [] if isinstance(found, AdminWaitlistRefusal) else found.items
    total = 0 if isinstance(found, AdminWaitlistRefusal) else found.total
    return {
        "entries": [(line.entry_id, _who(line)) for line in items],
        "count": total,
        "pages": pages(total),
        "id": product_id(dialog_manager),
    }


async def get_entry(dialog_manager: DialogManager, **kwargs: Any) -> dict[str, Any]:
    """The chosen entry as it stands now (gone: the line without it)."""
    line = await get_line(dialog_manager, **kwargs)
    chosen = dialog_manager.dialog_data.get(_ENTRY)
    found = next((text for entry_id, text in line["entries"] if entry_id == chosen), None)
    return {**line, "entry": html.escape(found or "—")}


async def get_log(
    dialog_manager: DialogManager, admin_waitlist: AdminWaitlist, **_: Any
) -> dict[str, Any]:
    """One page of the reservation log, newest first, as text lines."""
    translate: Translator = dialog_manager.middleware_data["t"]
    page = await current_page(dialog_manager, LOG_SCROLL)
    found = await admin_waitlist.log(
        admin_of(dialog_manager) or 0, product_id(dialog_manager), page * PAGE_SIZE, PAGE_SIZE
    )
    items = [] if isinstance(found, AdminWaitlistRefusal) else found.items
    total = 0 if isinstance(found, AdminWaitlistRefusal) else found.total
    lines = [
        translate(
            "admin.waitlist.log_line",
            id=item.reservation_id,
            who=html.escape(f"@{item.username}" if item.username else str(item.telegram_id)),
            state=translate(f"admin.waitlist.state.{item.state.value}"),
            cause=translate(f"admin.waitlist.cause.{item.cause.value}"),
            offered=item.offered_at.strftime("%Y-%m-%d %H:%M"),
            expires=item.expires_at.strftime("%Y-%m-%d %H:%M"),
        )
        for item in items
    ]
    return {
        "log": "\n".join(lines) or translate("admin.waitlist.log_empty"),
        "count": total,
        "pages": pages(total),
        "id": product_id(dialog_manager),
    }


async def on_entry(
    _event: CallbackQuery, _widget: Any, manager: DialogManager, raw_id: str
) -> None:
    """Open one entry of the line."""
    manager.dialog_data[_ENTRY] = id_item(raw_id)
    await manager.switch_to(AdminProductSG.waitlist_entry)


async def _entry_action(event: CallbackQuery, manager: DialogManager, action: str) -> None:
    admin_waitlist: AdminWaitlist = manager.middleware_data["admin_waitlist"]
    translate: Translator = manager.middleware_data["t"]
    entry_id = int(manager.dialog_data.get(_ENTRY, 0))
    if action == "remove":
        refusal = await admin_waitlist.remove(event.from_user.id, entry_id)
    else:
        refusal = await admin_waitlist.move(event.from_user.id, entry_id, up=action == "up")
    if refusal is not None:
        await event.answer(translate(f"admin.waitlist.refused.{refusal.value}"), show_alert=True)
        return
    await event.answer(translate(f"admin.waitlist.done.{action}"))
    if action == "remove":
        await manager.switch_to(AdminProductSG.waitlist)


async def on_up(event: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    """Move the entry one place up."""
    await _entry_action(event, manager, "up")


async def on_down(event: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    """Move the entry one place down."""
    await _entry_action(event, manager, "down")


async def on_remove(event: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    """Take the shopper out of the line."""
    await _entry_action(event, manager, "remove")


async def on_edition_size(
    message: Message, _widget: ManagedTextInput[str], manager: DialogManager, text: str
) -> None:
    """Save a new edition size; copies it frees go to the line at once."""
    admin_waitlist: AdminWaitlist = manager.middleware_data["admin_waitlist"]
    translate: Translator = manager.middleware_data["t"]
    sender = message.from_user.id if message.from_user is not None else 0
    result = await admin_waitlist.resize_edition(sender, product_id(manager), text)
    if isinstance(result, AdminWaitlistRefusal):
        await message.answer(translate(f"admin.waitlist.refused.{result.value}"), parse_mode=None)
        return
    await message.answer(translate("admin.waitlist.resized", offers=result))
    await manager.switch_to(AdminProductSG.card)


_to_card = SwitchTo(T("admin.menu.back"), id="to_card", state=AdminProductSG.card)
_to_line = SwitchTo(T("admin.menu.back"), id="to_line", state=AdminProductSG.waitlist)

windows = (
    Window(
        T("admin.waitlist.size_prompt"),
        TextInput(id="edition_size_text", on_success=on_edition_size),
        _to_card,
        state=AdminProductSG.edition_size,
    ),
    Window(
        T("admin.waitlist.title"),
        *paged_list(LINE_SCROLL, "entry", "entries", "{item[1]}", on_entry),
        SwitchTo(T("admin.waitlist.log"), id="log", state=AdminProductSG.reservations),
        _to_card,
        getter=get_line,
        state=AdminProductSG.waitlist,
    ),
    Window(
        T("admin.waitlist.entry"),
        Row(
            Button(T("admin.waitlist.up"), id="up", on_click=on_up),
            Button(T("admin.waitlist.down"), id="down", on_click=on_down),
            Button(T("admin.waitlist.remove"), id="remove", on_click=on_remove),
        ),
        _to_line,
        getter=get_entry,
        state=AdminProductSG.waitlist_entry,
    ),
    Window(
        T("admin.waitlist.log_title"),
        StubScroll(id=LOG_SCROLL, pages="pages"),
        pager(LOG_SCROLL),
        _to_line,
        getter=get_log,
        state=AdminProductSG.reservations,
    ),
)
