"""What the ticket use cases refuse, as types a caller maps to its own answers (the HTTP
API: not found 404, access denied 403, conflict 409, invalid input 422)."""

from __future__ import annotations

from enum import StrEnum

from vitrina_common.tickets.status import TicketStatus


class TicketError(Exception):
    """Any refusal of a ticket use case."""


class TicketNotFound(TicketError):  # noqa: N818  (named as the answer the API maps it to: 404, 403, 409, 422)
    """No ticket has this id."""

    def __init__(self, ticket_id: int) -> None:
        super().__init__(f"ticket {ticket_id} not found")
        self.ticket_id = ticket_id


class AccessDenied(TicketError):  # noqa: N818  (named as the answer the API maps it to: 404, 403, 409, 422)
    """The actor may not do this."""


class NotYourTicket(AccessDenied):
    """A shopper asked for a ticket someone else opened."""

    def __init__(self, ticket_id: int) -> None:
        super().__init__(f"ticket {ticket_id} belongs to another user")
        self.ticket_id = ticket_id


class StaffOnly(AccessDenied):
    """Only the shop (an admin or an API token) may do this."""

    def __init__(self) -> None:
        super().__init__("only the shop's staff may do this")


class ShopperOnly(AccessDenied):
    """Only a shopper opens a ticket (about their own purchase, in their own name)."""

    def __init__(self) -> None:
        super().__init__("only a shopper may open a ticket")


class MissingScope(AccessDenied):
    """An API token without the scope this needs."""

    def __init__(self, scope: str) -> None:
        super().__init__(f"the token lacks the {scope!r} scope")
        self.scope = scope


class TicketConflict(TicketError):  # noqa: N818  (named as the answer the API maps it to: 404, 403, 409, 422)
    """The ticket's state does not allow this (now)."""


class TicketClosed(TicketConflict):
    """The ticket is closed: final, no move and no comment."""

    def __init__(self, ticket_id: int) -> None:
        super().__init__(f"ticket {ticket_id} is closed")
        self.ticket_id = ticket_id


class IllegalTransition(TicketConflict):
    """``current → target`` is not in the table; ``allowed`` is where it may go."""

    def __init__(
        self,
        ticket_id: int,
        current: TicketStatus,
        target: TicketStatus,
        allowed: frozenset[TicketStatus],
    ) -> None:
        moves = ", ".join(sorted(allowed)) or "none"
        super().__init__(f"ticket {ticket_id} cannot move {current} -> {target}; allowed: {moves}")
        self.ticket_id = ticket_id
        self.current = current
        self.target = target
        self.allowed = allowed


class TicketChanged(TicketConflict):
    """The ticket is no longer in the status the caller saw (someone acted first)."""

    def __init__(self, ticket_id: int, expected: TicketStatus, current: TicketStatus) -> None:
        super().__init__(f"ticket {ticket_id} is {current}, not {expected}")
        self.ticket_id = ticket_id
        self.expected = expected
        self.current = current


class Problem(StrEnum):
    """Why an input was refused."""

    EMPTY = "empty"
    TOO_LONG = "too_long"
    UNKNOWN_USER = "unknown_user"
    UNKNOWN_PURCHASE = "unknown_purchase"
    NOT_STAFF = "not_staff"
    BAD_CURSOR = "bad_cursor"


class InvalidTicketInput(TicketError, ValueError):  # noqa: N818  (named as the answer the API maps it to: 404, 403, 409, 422)
    """``field`` cannot be taken as given (``problem`` says why)."""

    def __init__(self, field: str, problem: Problem) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem
