"""What a person reads when a ticket use case refuses: one sentence per kind of refusal."""

from __future__ import annotations

from vitrina_bot.i18n import Translator
from vitrina_common.services.tickets import (
    AccessDenied,
    IllegalTransition,
    InvalidTicketInput,
    NotYourTicket,
    Problem,
    TicketChanged,
    TicketClosed,
    TicketError,
    TicketNotFound,
)
from vitrina_common.text_limits import MAX_TICKET_COMMENT_CHARS


def refusal(error: TicketError, t: Translator) -> str:
    """The sentence for ``error``. Another shopper's ticket reads like a missing one: a
    forged button learns nothing."""
    if isinstance(error, TicketNotFound | NotYourTicket):
        return t("tickets.not_found")
    if isinstance(error, TicketClosed):
        return t("tickets.closed")
    if isinstance(error, TicketChanged | IllegalTransition):
        return t("tickets.changed")
    if isinstance(error, AccessDenied):
        return t("tickets.not_allowed")
    if isinstance(error, InvalidTicketInput):
        return _invalid(error.problem, t)
    return t("errors.failed")


def _invalid(problem: Problem, t: Translator) -> str:
    if problem == Problem.TOO_LONG:
        return t("tickets.too_long", max=MAX_TICKET_COMMENT_CHARS)
    if problem == Problem.EMPTY:
        return t("tickets.empty")
    if problem == Problem.UNKNOWN_USER:
        return t("checkout.refused.unknown_user")
    return t("tickets.not_found")
