"""The shopper's support tickets (Help → My tickets / Write to support, or "Problem with
this image" on a purchased product): open one, read the conversation, reply, close.

Handlers only turn a tap or a message into a use case call; who may see what is decided
by ``Tickets`` for the ``Shopper`` the update came from, so another shopper's ticket id in
a forged button reads "not found".
"""

from __future__ import annotations

from typing import Any

from aiogram.enums import ContentType
from aiogram.types import CallbackQuery, Message
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Button, Cancel, Column, Select, SwitchTo
from aiogram_dialog.widgets.text import Format

from vitrina_bot.dialogs.cursor_pages import cursor_pager, page_cursor, paging_data
from vitrina_bot.dialogs.states import TicketsSG
from vitrina_bot.dialogs.widgets import PAGE_SIZE, T, id_item, sender_id
from vitrina_bot.i18n import Translator
from vitrina_bot.tickets.messages import comment_of
from vitrina_bot.tickets.refusals import refusal
from vitrina_bot.tickets.view import button_label, conversation
from vitrina_common.db.models import TicketStatus
from vitrina_common.outbox import OutboxRelay
from vitrina_common.services.tickets import Shopper, TicketError, Tickets
from vitrina_common.text_limits import clipped_html

TICKET_KEY = "ticket_id"
COMMENT_TYPES = [ContentType.TEXT, ContentType.PHOTO, ContentType.DOCUMENT]


def _shopper(manager: DialogManager) -> Shopper:
    return Shopper(sender_id(manager) or 0)


def _start(manager: DialogManager) -> dict[str, Any]:
    return manager.start_data if isinstance(manager.start_data, dict) else {}


async def get_listing(
    dialog_manager: DialogManager, tickets: Tickets, t: Translator, **_: Any
) -> dict[str, Any]:
    """One page of the shopper's own tickets, newest first."""
    page = await tickets.list_tickets(
        _shopper(dialog_manager), cursor=page_cursor(dialog_manager), limit=PAGE_SIZE
    )
    items = [(item.id, button_label(item, t)) for item in page.items]
    return {
        "tickets": items,
        "count": len(items),
        **paging_data(dialog_manager, page.next_cursor),
    }


async def on_ticket(
    _event: CallbackQuery, _widget: Any, manager: DialogManager, ticket_id: str
) -> None:
    """Open a conversation (the getter decides whether the shopper may read it)."""
    manager.dialog_data[TICKET_KEY] = id_item(ticket_id)
    await manager.switch_to(TicketsSG.ticket)


async def get_ticket(
    dialog_manager: DialogManager, tickets: Tickets, t: Translator, **_: Any
) -> dict[str, Any]:
    """The conversation; ``found`` False for a missing or someone else's ticket."""
    ticket_id = int(dialog_manager.dialog_data.get(TICKET_KEY, 0))
    try:
        details = await tickets.get(_shopper(dialog_manager), ticket_id)
    except TicketError as error:
        return {"found": False, "open": False, "text": refusal(error, t)}
    return {
        "found": True,
        "open": details.ticket.status != TicketStatus.CLOSED,
        "text": conversation(details, t, for_staff=False),
    }


async def get_new(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    """The product the new ticket is about, if it came from a purchase."""
    title = _start(dialog_manager).get("title")
    return {"title": clipped_html(str(title), 128) if title else ""}


async def on_new_message(message: Message, _widget: MessageInput, manager: DialogManager) -> None:
    """Open the ticket from one message (text, or a photo or document with a caption)."""
    tickets: Tickets = manager.middleware_data["tickets"]
    t: Translator = manager.middleware_data["t"]
    text, attachment = comment_of(message)
    purchase_id = _start(manager).get("purchase_id")
    try:
        opened = await tickets.open_ticket(
            _shopper(manager),
            text,
            purchase_id=int(purchase_id) if purchase_id else None,
            attachment=attachment,
        )
    except TicketError as error:
        await message.answer(refusal(error, t))
        return
    _wake(manager)
    await message.answer(t("tickets.opened", id=opened.id))
    manager.dialog_data[TICKET_KEY] = opened.id
    await manager.switch_to(TicketsSG.ticket)


async def on_reply_message(message: Message, _widget: MessageInput, manager: DialogManager) -> None:
    """Add the shopper's reply; the admins are told."""
    tickets: Tickets = manager.middleware_data["tickets"]
    t: Translator = manager.middleware_data["t"]
    text, attachment = comment_of(message)
    ticket_id = int(manager.dialog_data.get(TICKET_KEY, 0))
    try:
        await tickets.add_comment(_shopper(manager), ticket_id, text, attachment=attachment)
    except TicketError as error:
        await message.answer(refusal(error, t))
        return
    _wake(manager)
    await message.answer(t("tickets.sent"))
    await manager.switch_to(TicketsSG.ticket)


async def on_close(event: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    """Close the shopper's ticket."""
    tickets: Tickets = manager.middleware_data["tickets"]
    t: Translator = manager.middleware_data["t"]
    ticket_id = int(manager.dialog_data.get(TICKET_KEY, 0))
    try:
        await tickets.close(_shopper(manager), ticket_id)
    except TicketError as error:
        await event.answer(refusal(error, t), show_alert=True)
        return
    _wake(manager)
    await event.answer(t("tickets.closed_now"))


def _wake(manager: DialogManager) -> None:
    """Deliver the notice just committed now rather than at the relay's next poll."""
    relay: OutboxRelay = manager.middleware_data["outbox_relay"]
    relay.wake()


async def _start_new(_event: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    await manager.switch_to(TicketsSG.new)


dialog = Dialog(
    Window(
        T("tickets.mine", when="count"),
        T("tickets.none", when=lambda data, *_: not data["count"]),
        Column(
            Select(
                Format("{item[1]}"),
                id="ticket",
                item_id_getter=lambda item: item[0],
                items="tickets",
                type_factory=str,
                on_click=on_ticket,
            )
        ),
        cursor_pager(),
        Button(T("tickets.new"), id="new", on_click=_start_new),
        Cancel(T("menu.back")),
        getter=get_listing,
        state=TicketsSG.listing,
    ),
    Window(
        T("tickets.new_prompt"),
        T("tickets.new_about", when="title"),
        MessageInput(on_new_message, content_types=COMMENT_TYPES),
        Cancel(T("menu.back")),
        getter=get_new,
        state=TicketsSG.new,
    ),
    Window(
        Format("{text}"),
        SwitchTo(T("tickets.reply"), id="reply", state=TicketsSG.reply, when="open"),
        Button(T("tickets.close"), id="close", on_click=on_close, when="open"),
        SwitchTo(T("tickets.to_list"), id="to_list", state=TicketsSG.listing),
        getter=get_ticket,
        state=TicketsSG.ticket,
    ),
    Window(
        T("tickets.reply_prompt"),
        MessageInput(on_reply_message, content_types=COMMENT_TYPES),
        SwitchTo(T("tickets.back_to_ticket"), id="reply_back", state=TicketsSG.ticket),
        state=TicketsSG.reply,
    ),
)
