"""Support tickets: the use cases (``Tickets``), who may act (``Shopper``, ``Staff``,
``ApiClient``), what they return and what they refuse. Free of Telegram: the bot and the
HTTP API both call them, and both inherit the access rules.

The status table lives in ``vitrina_common.tickets.status``.
"""

from vitrina_common.services.tickets.actors import Actor, ApiClient, Shopper, Staff
from vitrina_common.services.tickets.errors import (
    AccessDenied,
    IllegalTransition,
    InvalidTicketInput,
    MissingScope,
    NotYourTicket,
    Problem,
    ShopperOnly,
    StaffOnly,
    TicketChanged,
    TicketClosed,
    TicketConflict,
    TicketError,
    TicketNotFound,
)
from vitrina_common.services.tickets.reminders import TicketReminders, ticket_reminders_task
from vitrina_common.services.tickets.use_cases import Tickets
from vitrina_common.services.tickets.views import (
    Attachment,
    CommentAdded,
    CommentView,
    EventView,
    TicketDetails,
    TicketFilter,
    TicketPage,
    TicketSummary,
)

__all__ = [
    "AccessDenied",
    "Actor",
    "ApiClient",
    "Attachment",
    "CommentAdded",
    "CommentView",
    "EventView",
    "IllegalTransition",
    "InvalidTicketInput",
    "MissingScope",
    "NotYourTicket",
    "Problem",
    "Shopper",
    "ShopperOnly",
    "Staff",
    "StaffOnly",
    "TicketChanged",
    "TicketClosed",
    "TicketConflict",
    "TicketDetails",
    "TicketError",
    "TicketFilter",
    "TicketNotFound",
    "TicketPage",
    "TicketReminders",
    "TicketSummary",
    "Tickets",
    "ticket_reminders_task",
]
