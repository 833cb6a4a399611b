"""What a ticket change does besides itself, inside the same transaction: the move is
recorded, and the other side is told through the outbox (once per comment or move)."""

from __future__ import annotations

from vitrina_common.db.models import ActorKind, TicketComment, TicketStatus
from vitrina_common.notices import (
    AdminAlert,
    Argument,
    UserNotice,
    enqueue_admin_alert,
    enqueue_user_notice,
)
from vitrina_common.repositories.outbox import OutboxRepository
from vitrina_common.repositories.tickets import ActorRef, TicketRepository, TicketRow
from vitrina_common.services.tickets.errors import IllegalTransition
from vitrina_common.text_limits import TICKET_QUOTE_CHARS, clip
from vitrina_common.tickets.status import allowed_moves, is_allowed


async def move(
    tickets: TicketRepository, row: TicketRow, actor: ActorRef, target: TicketStatus
) -> None:
    """Move the locked ticket ``row`` to ``target`` along the table, and record it."""
    current = row.ticket.status
    if not is_allowed(current, target):
        raise IllegalTransition(row.ticket.id, current, target, allowed_moves(current))
    await tickets.set_status(row.ticket.id, target)
    await tickets.add_event(row.ticket.id, actor, current, target)


def implied_move(status: TicketStatus, by_staff: bool) -> TicketStatus | None:
    """The move a comment makes: the shop answering a ticket that waits for it, or the
    author writing after an answer; None when the comment leaves the status as it is."""
    if by_staff and status in (TicketStatus.OPEN, TicketStatus.AWAITING_REPLY):
        return TicketStatus.ANSWERED
    if not by_staff and status == TicketStatus.ANSWERED:
        return TicketStatus.AWAITING_REPLY
    return None


async def tell_about_comment(
    outbox: OutboxRepository,
    row: TicketRow,
    comment: TicketComment,
    *,
    by_staff: bool,
    opened: bool = False,
) -> None:
    """The shopper hears of the shop's comment, the admins of the shopper's."""
    attachment = (
        (comment.file_kind.value, comment.file_id)
        if comment.file_kind is not None and comment.file_id is not None
        else None
    )
    arguments: dict[str, Argument] = {
        "ticket": row.ticket.id,
        "subject": row.ticket.subject,
        "text": clip(comment.text, TICKET_QUOTE_CHARS),
    }
    key = f"ticket-comment:{comment.id}"
    if by_staff:
        await enqueue_user_notice(
            outbox,
            row.author_telegram_id,
            UserNotice.TICKET_ANSWERED,
            key,
            attachment=attachment,
            **arguments,
        )
        return
    alert = AdminAlert.TICKET_OPENED if opened else AdminAlert.TICKET_REPLY
    await enqueue_admin_alert(
        outbox, alert, key, attachment=attachment, user=row.author_telegram_id, **arguments
    )


async def tell_about_close(outbox: OutboxRepository, row: TicketRow, actor: ActorRef) -> None:
    """A ticket closed by the shop is news to its author, one closed by its author to
    the admins."""
    key = f"ticket-closed:{row.ticket.id}"
    if actor.kind == ActorKind.AUTHOR:
        await enqueue_admin_alert(
            outbox,
            AdminAlert.TICKET_CLOSED,
            key,
            ticket=row.ticket.id,
            subject=row.ticket.subject,
            user=row.author_telegram_id,
        )
    else:
        await enqueue_user_notice(
            outbox,
            row.author_telegram_id,
            UserNotice.TICKET_CLOSED,
            key,
            ticket=row.ticket.id,
            subject=row.ticket.subject,
        )
