"""What the ticket use cases take and return: plain frozen values, no database rows."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime, timedelta

from vitrina_common.db.models import (
    ActorKind,
    AttachmentKind,
    Ticket,
    TicketComment,
    TicketEvent,
    TicketStatus,
)
from vitrina_common.services.tickets.errors import InvalidTicketInput, Problem

MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class Attachment:
    """A photo or document already on Telegram, by its ``file_id``."""

    kind: AttachmentKind
    file_id: str


@dataclass(frozen=True)
class TicketSummary:
    """A ticket without its conversation: what lists and changes return."""

    id: int
    subject: str
    status: TicketStatus
    author_telegram_id: int
    purchase_id: int | None
    assignee_telegram_id: int | None
    created_at: datetime
    updated_at: datetime
    # Since when the shop owes an answer; None when it does not.
    waiting_since: datetime | None

    @classmethod
    def of(cls, ticket: Ticket, author_telegram_id: int) -> TicketSummary:
        """The summary of a stored ticket."""
        return cls(
            id=ticket.id,
            subject=ticket.subject,
            status=ticket.status,
            author_telegram_id=author_telegram_id,
            purchase_id=ticket.purchase_id,
            assignee_telegram_id=ticket.assignee_telegram_id,
            created_at=ticket.created_at,
            updated_at=ticket.updated_at,
            waiting_since=ticket.waiting_since,
        )


@dataclass(frozen=True)
class CommentView:
    """One comment of a conversation."""

    id: int
    author_kind: ActorKind
    # The author's or the admin's Telegram id; None for an API token.
    author_telegram_id: int | None
    author_token_id: int | None
    text: str
    attachment: Attachment | None
    created_at: datetime

    @classmethod
    def of(cls, comment: TicketComment) -> CommentView:
        """The view of a stored comment."""
        attachment = (
            Attachment(comment.file_kind, comment.file_id)
            if comment.file_kind is not None and comment.file_id is not None
            else None
        )
        return cls(
            id=comment.id,
            author_kind=comment.author_kind,
            author_telegram_id=comment.author_telegram_id,
            author_token_id=comment.author_token_id,
            text=comment.text,
            attachment=attachment,
            created_at=comment.created_at,
        )


@dataclass(frozen=True)
class EventView:
    """One recorded move (``from_status`` None: the ticket was opened)."""

    actor_kind: ActorKind
    actor_telegram_id: int | None
    actor_token_id: int | None
    from_status: TicketStatus | None
    to_status: TicketStatus
    created_at: datetime

    @classmethod
    def of(cls, event: TicketEvent) -> EventView:
        """The view of a stored event."""
        return cls(
            actor_kind=event.actor_kind,
            actor_telegram_id=event.actor_telegram_id,
            actor_token_id=event.actor_token_id,
            from_status=event.from_status,
            to_status=event.to_status,
            created_at=event.created_at,
        )


@dataclass(frozen=True)
class TicketDetails:
    """A ticket with its latest comments: what ``Tickets.get`` returns."""

    ticket: TicketSummary
    # The title of the purchased product the ticket is about, if any.
    product_title: str | None
    # The latest comments, oldest of them first.
    comments: list[CommentView]
    # Where the ticket may move next (the table's answer, whoever asks).
    allowed_moves: frozenset[TicketStatus]


@dataclass(frozen=True)
class CommentAdded:
    """The ticket as the comment left it, and the comment."""

    ticket: TicketSummary
    comment: CommentView


@dataclass(frozen=True)
class TicketFilter:
    """Which tickets to list; unset fields do not filter. A shopper's list is always
    their own tickets."""

    statuses: frozenset[TicketStatus] | None = None
    # Opened at least this long ago.
    older_than: timedelta | None = None
    assignee_telegram_id: int | None = None
    # Only tickets nobody took (wins over ``assignee_telegram_id``).
    unassigned: bool = False
    author_telegram_id: int | None = None
    oldest_first: bool = False


@dataclass(frozen=True)
class TicketPage:
    """One page of tickets."""

    items: list[TicketSummary]
    # Pass it back for the next page; None on the last one.
    next_cursor: str | None


def encode_cursor(created_at: datetime, ticket_id: int) -> str:
    """An opaque, URL-safe position after (``created_at``, ``ticket_id``)."""
    raw = f"{created_at.isoformat()}|{ticket_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The position ``encode_cursor`` made; ``InvalidTicketInput`` for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, ticket_id = raw.split("|")
        created_at, position = datetime.fromisoformat(moment), int(ticket_id)
    except (ValueError, UnicodeDecodeError, binascii.Error) as error:
        raise InvalidTicketInput("cursor", Problem.BAD_CURSOR) from error
    if created_at.tzinfo is None:
        raise InvalidTicketInput("cursor", Problem.BAD_CURSOR)
    return created_at, position
