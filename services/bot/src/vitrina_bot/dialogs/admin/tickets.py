"""Admin area: support tickets. A queue, oldest first, filtered by status (waiting for the
shop by default), age and assignee; a ticket's card (``tickets_card``) to take, answer
and close it.

This router is behind the admin filter like every admin area, and the use cases check
again that the ``Staff`` acting is an admin.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiogram.types import CallbackQuery
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.kbd import Button, Cancel, Column, Row, Select
from aiogram_dialog.widgets.text import Format

from vitrina_bot.dialogs.admin.tickets_card import TICKET_KEY, answer_window, card_window
from vitrina_bot.dialogs.admin.tickets_states import AdminTicketsSG
from vitrina_bot.dialogs.cursor_pages import cursor_pager, page_cursor, paging_data, reset_paging
from vitrina_bot.dialogs.widgets import PAGE_SIZE, T, id_item, sender_id
from vitrina_bot.i18n import Translator
from vitrina_bot.tickets.view import button_label
from vitrina_common.db.models import TicketStatus
from vitrina_common.services.tickets import Staff, TicketFilter, Tickets

ENTRY = AdminTicketsSG.queue

# Each filter button steps through its values; the first is the default.
STATUS_CHOICES: dict[str, frozenset[TicketStatus] | None] = {
    "waiting": frozenset({TicketStatus.OPEN, TicketStatus.AWAITING_REPLY}),
    "answered": frozenset({TicketStatus.ANSWERED}),
    "closed": frozenset({TicketStatus.CLOSED}),
    "all": None,
}
AGE_CHOICES = (0, 4, 24)
WHO_CHOICES = ("anyone", "mine", "nobody")


def _choice(manager: DialogManager, key: str, choices: tuple[Any, ...]) -> Any:
    value = manager.dialog_data.get(key, choices[0])
    return value if value in choices else choices[0]


def queue_filter(manager: DialogManager) -> TicketFilter:
    """The filters the admin picked, as the use case takes them."""
    status = _choice(manager, "status", tuple(STATUS_CHOICES))
    hours = _choice(manager, "age", AGE_CHOICES)
    who = _choice(manager, "who", WHO_CHOICES)
    return TicketFilter(
        statuses=STATUS_CHOICES[status],
        older_than=timedelta(hours=hours) if hours else None,
        assignee_telegram_id=sender_id(manager) if who == "mine" else None,
        unassigned=who == "nobody",
        oldest_first=True,
    )


async def get_queue(
    dialog_manager: DialogManager, tickets: Tickets, t: Translator, **_: Any
) -> dict[str, Any]:
    """One page of the queue under the current filters, and the filters' labels."""
    page = await tickets.list_tickets(
        Staff(sender_id(dialog_manager) or 0),
        queue_filter(dialog_manager),
        cursor=page_cursor(dialog_manager),
        limit=PAGE_SIZE,
    )
    hours = _choice(dialog_manager, "age", AGE_CHOICES)
    return {
        "tickets": [(item.id, button_label(item, t)) for item in page.items],
        "count": len(page.items),
        "status": t(
            f"admin.tickets.show.{_choice(dialog_manager, 'status', tuple(STATUS_CHOICES))}"
        ),
        "age": t("admin.tickets.age_any")
        if not hours
        else t("admin.tickets.age_over", hours=hours),
        "who": t(f"admin.tickets.who.{_choice(dialog_manager, 'who', WHO_CHOICES)}"),
        **paging_data(dialog_manager, page.next_cursor),
    }


def _stepper(key: str, choices: tuple[Any, ...]) -> Any:
    async def step(_event: CallbackQuery, _button: Button, manager: DialogManager) -> None:
        current = _choice(manager, key, choices)
        manager.dialog_data[key] = choices[(choices.index(current) + 1) % len(choices)]
        reset_paging(manager)

    return step


async def on_ticket(
    _event: CallbackQuery, _widget: Any, manager: DialogManager, ticket_id: str
) -> None:
    """Open a ticket's card."""
    manager.dialog_data[TICKET_KEY] = id_item(ticket_id)
    await manager.switch_to(AdminTicketsSG.ticket)


queue_window = Window(
    T("admin.tickets.queue", when="count"),
    T("admin.tickets.empty", when=lambda data, *_: not data["count"]),
    Row(
        Button(
            T("admin.tickets.filter_status"),
            id="f_status",
            on_click=_stepper("status", tuple(STATUS_CHOICES)),
        ),
        Button(T("admin.tickets.filter_age"), id="f_age", on_click=_stepper("age", AGE_CHOICES)),
        Button(T("admin.tickets.filter_who"), id="f_who", on_click=_stepper("who", WHO_CHOICES)),
    ),
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
    Cancel(T("admin.menu.back")),
    getter=get_queue,
    state=AdminTicketsSG.queue,
)

dialogs = (Dialog(queue_window, card_window, answer_window),)
