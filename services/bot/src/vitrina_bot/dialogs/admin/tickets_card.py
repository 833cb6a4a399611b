"""One ticket for the admin: the conversation, and Take, Answer (text, photo or document),
Close. Each calls a use case as ``Staff``; a refusal (closed meanwhile, another admin was
first) is said in a pop-up and the card shows the ticket as it is now."""

from __future__ import annotations

from typing import Any

from aiogram.enums import ContentType
from aiogram.types import CallbackQuery, Message
from aiogram_dialog import DialogManager, Window
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Button, Row, SwitchTo
from aiogram_dialog.widgets.text import Format

from vitrina_bot.dialogs.admin.tickets_states import AdminTicketsSG
from vitrina_bot.dialogs.widgets import T, sender_id
from vitrina_bot.i18n import Translator
from vitrina_bot.tickets.messages import comment_of
from vitrina_bot.tickets.refusals import refusal
from vitrina_bot.tickets.view import conversation
from vitrina_common.db.models import TicketStatus
from vitrina_common.outbox import OutboxRelay
from vitrina_common.services.tickets import Staff, TicketError, Tickets

TICKET_KEY = "ticket_id"
COMMENT_TYPES = [ContentType.TEXT, ContentType.PHOTO, ContentType.DOCUMENT]


def _staff(manager: DialogManager) -> Staff:
    return Staff(sender_id(manager) or 0)


def _ticket_id(manager: DialogManager) -> int:
    return int(manager.dialog_data.get(TICKET_KEY, 0))


async def get_card(
    dialog_manager: DialogManager, tickets: Tickets, t: Translator, **_: Any
) -> dict[str, Any]:
    """The conversation as the shop sees it, and which buttons apply."""
    try:
        details = await tickets.get(_staff(dialog_manager), _ticket_id(dialog_manager))
    except TicketError as error:
        return {"open": False, "can_take": False, "text": refusal(error, t)}
    ticket = details.ticket
    is_open = ticket.status != TicketStatus.CLOSED
    return {
        "open": is_open,
        "can_take": is_open and ticket.assignee_telegram_id != sender_id(dialog_manager),
        "text": conversation(details, t, for_staff=True),
    }


async def _act(event: CallbackQuery, manager: DialogManager, done_key: str, action: Any) -> None:
    t: Translator = manager.middleware_data["t"]
    try:
        await action
    except TicketError as error:
        await event.answer(refusal(error, t), show_alert=True)
        return
    relay: OutboxRelay = manager.middleware_data["outbox_relay"]
    relay.wake()
    await event.answer(t(done_key))


async def on_take(event: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    """Assign the ticket to this admin."""
    tickets: Tickets = manager.middleware_data["tickets"]
    await _act(
        event, manager, "admin.tickets.taken", tickets.take(_staff(manager), _ticket_id(manager))
    )


async def on_close(event: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    """Close the ticket; its author is told."""
    tickets: Tickets = manager.middleware_data["tickets"]
    await _act(
        event, manager, "tickets.closed_now", tickets.close(_staff(manager), _ticket_id(manager))
    )


async def on_answer(message: Message, _widget: MessageInput, manager: DialogManager) -> None:
    """Send the admin's answer to the shopper (through the outbox) and show the card."""
    tickets: Tickets = manager.middleware_data["tickets"]
    t: Translator = manager.middleware_data["t"]
    text, attachment = comment_of(message)
    try:
        await tickets.add_comment(_staff(manager), _ticket_id(manager), text, attachment=attachment)
    except TicketError as error:
        await message.answer(refusal(error, t))
        return
    relay: OutboxRelay = manager.middleware_data["outbox_relay"]
    relay.wake()
    await message.answer(t("admin.tickets.answered"))
    await manager.switch_to(AdminTicketsSG.ticket)


card_window = Window(
    Format("{text}"),
    Row(
        Button(T("admin.tickets.take"), id="take", on_click=on_take, when="can_take"),
        SwitchTo(T("admin.tickets.answer"), id="answer", state=AdminTicketsSG.answer, when="open"),
        Button(T("tickets.close"), id="close", on_click=on_close, when="open"),
    ),
    SwitchTo(T("admin.tickets.to_queue"), id="to_queue", state=AdminTicketsSG.queue),
    getter=get_card,
    state=AdminTicketsSG.ticket,
)

answer_window = Window(
    T("admin.tickets.answer_prompt"),
    MessageInput(on_answer, content_types=COMMENT_TYPES),
    SwitchTo(T("tickets.back_to_ticket"), id="answer_back", state=AdminTicketsSG.ticket),
    state=AdminTicketsSG.answer,
)
