"""A ticket's statuses and the only moves between them: the one place they are written.

The migration that created ``ticket_transitions`` seeded it from ``TRANSITIONS``, and the
database refuses any other move (see ``db.models.tickets``); a test compares the two, so a
change here without a migration that brings the table along fails CI.

::

    open           → answered | closed
    answered       → awaiting_reply | closed
    awaiting_reply → answered | closed
    closed         (final: no move, no new comment)
"""

from __future__ import annotations

from enum import StrEnum


class TicketStatus(StrEnum):
    # New, waiting for the shop's first answer.
    OPEN = "open"
    # The shop answered; waiting for the shopper (or nothing more to say).
    ANSWERED = "answered"
    # The shopper wrote again after an answer; waiting for the shop.
    AWAITING_REPLY = "awaiting_reply"
    # Done for good.
    CLOSED = "closed"


TRANSITIONS: frozenset[tuple[TicketStatus, TicketStatus]] = frozenset(
    {
        (TicketStatus.OPEN, TicketStatus.ANSWERED),
        (TicketStatus.OPEN, TicketStatus.CLOSED),
        (TicketStatus.ANSWERED, TicketStatus.AWAITING_REPLY),
        (TicketStatus.ANSWERED, TicketStatus.CLOSED),
        (TicketStatus.AWAITING_REPLY, TicketStatus.ANSWERED),
        (TicketStatus.AWAITING_REPLY, TicketStatus.CLOSED),
    }
)

# Statuses in which the shop owes the shopper an answer (reminders count from them).
WAITING_FOR_STAFF: frozenset[TicketStatus] = frozenset(
    {TicketStatus.OPEN, TicketStatus.AWAITING_REPLY}
)


def allowed_moves(status: TicketStatus) -> frozenset[TicketStatus]:
    """Where a ticket in ``status`` may go next (nothing from ``closed``)."""
    return frozenset(target for source, target in TRANSITIONS if source == status)


def is_allowed(source: TicketStatus, target: TicketStatus) -> bool:
    """Whether ``source → target`` is in the table."""
    return (source, target) in TRANSITIONS
