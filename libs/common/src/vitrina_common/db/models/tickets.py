"""Support tickets: a shopper's question, its conversation and every move of its status.

The moves a status may make are rows of ``ticket_transitions`` (seeded from
``vitrina_common.tickets.status``). The database holds every write to them, not only the
use cases' — a trigger and a foreign key, created by migration 0008:

- ``tickets.status`` may change only along a row of ``ticket_transitions`` (a BEFORE UPDATE
  trigger: a foreign key cannot see the old value), and a ticket starts ``open``;
- every ``ticket_events`` row names a row of ``ticket_transitions`` (a composite foreign
  key: a recorded move outside the table is refused as it is written).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    String,
    Text,
)
from sqlalchemy import text as sql
from sqlalchemy.orm import Mapped, mapped_column

from vitrina_common.db.base import Base, Timestamped
from vitrina_common.db.models.columns import str_enum
from vitrina_common.text_limits import MAX_TICKET_COMMENT_CHARS, MAX_TICKET_SUBJECT_CHARS
from vitrina_common.tickets.status import TicketStatus

__all__ = [
    "ActorKind",
    "AttachmentKind",
    "Ticket",
    "TicketComment",
    "TicketEvent",
    "TicketStatus",
    "TicketTransition",
]


class ActorKind(StrEnum):
    """Who wrote a comment or moved a ticket."""

    # The shopper who opened the ticket.
    AUTHOR = "author"
    # A shop admin, in the bot.
    STAFF = "staff"
    # A helpdesk through the HTTP API, by its token.
    API_TOKEN = "api_token"  # noqa: S105  (a kind of actor, not a secret)


class AttachmentKind(StrEnum):
    """How a comment's file was sent on Telegram (and is sent on)."""

    PHOTO = "photo"
    DOCUMENT = "document"


class TicketTransition(Base):
    """One allowed move; the table is the database's copy of ``TRANSITIONS``."""

    __tablename__ = "ticket_transitions"

    from_status: Mapped[TicketStatus] = mapped_column(
        str_enum(TicketStatus, "ticket_transition_from"), primary_key=True
    )
    to_status: Mapped[TicketStatus] = mapped_column(
        str_enum(TicketStatus, "ticket_transition_to"), primary_key=True
    )


class Ticket(Timestamped, Base):
    """A shopper's question to the shop; its conversation is ``ticket_comments``."""

    __tablename__ = "tickets"
    __table_args__ = (
        # Keyset pages: newest (or oldest) first, by (created_at, id).
        Index(None, "created_at", "id"),
        Index(None, "author_id", "created_at", "id"),
        # Reminders: the tickets the shop owes an answer, by how long they have waited.
        Index(
            "ix_tickets_waiting_since",
            "waiting_since",
            postgresql_where=sql("waiting_since IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    # The purchase the ticket is about ("Problem with this image"), if any.
    purchase_id: Mapped[int | None] = mapped_column(
        ForeignKey("purchases.id", ondelete="RESTRICT"), index=True
    )
    subject: Mapped[str] = mapped_column(String(MAX_TICKET_SUBJECT_CHARS))
    status: Mapped[TicketStatus] = mapped_column(
        str_enum(TicketStatus, "ticket_status"), server_default=TicketStatus.OPEN.value
    )
    # The admin (Telegram id) who took the ticket; admins are configured, not rows.
    assignee_telegram_id: Mapped[int | None] = mapped_column(index=True)
    # Since when the shop owes an answer (open or awaiting_reply); NULL otherwise.
    waiting_since: Mapped[datetime | None] = mapped_column(server_default=sql("now()"))
    # The last reminder to the admins about this wait; NULL when none was sent yet.
    reminded_at: Mapped[datetime | None]


class TicketComment(Base):
    """One message of a ticket's conversation, by its author, an admin or an API token."""

    __tablename__ = "ticket_comments"
    __table_args__ = (
        CheckConstraint(
            f"char_length(text) <= {MAX_TICKET_COMMENT_CHARS}", name="text_within_limit"
        ),
        CheckConstraint("text <> '' OR file_id IS NOT NULL", name="text_or_file"),
        CheckConstraint("(file_id IS NULL) = (file_kind IS NULL)", name="file_has_kind"),
        CheckConstraint(
            "(author_kind = 'api_token') = (author_token_id IS NOT NULL)"
            " AND (author_kind = 'api_token') = (author_telegram_id IS NULL)",
            name="author_identified",
        ),
        Index(None, "ticket_id", "id"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    author_kind: Mapped[ActorKind] = mapped_column(str_enum(ActorKind, "comment_author_kind"))
    author_telegram_id: Mapped[int | None]
    author_token_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_tokens.id", ondelete="RESTRICT")
    )
    # Empty for a photo or document sent without a caption.
    text: Mapped[str] = mapped_column(Text, server_default="")
    # A Telegram file_id: files are never stored here.
    file_id: Mapped[str | None] = mapped_column(String(256))
    file_kind: Mapped[AttachmentKind | None] = mapped_column(
        str_enum(AttachmentKind, "attachment_kind")
    )
    created_at: Mapped[datetime] = mapped_column(server_default=sql("now()"))


class TicketEvent(Base):
    """A move of a ticket's status, or its creation (``from_status`` NULL, to ``open``)."""

    __tablename__ = "ticket_events"
    __table_args__ = (
        # MATCH SIMPLE: the creation event (from NULL) is not a move; the CHECK below
        # keeps NULL for creation only.
        ForeignKeyConstraint(
            ["from_status", "to_status"],
            ["ticket_transitions.from_status", "ticket_transitions.to_status"],
            ondelete="RESTRICT",
        ),
        CheckConstraint("from_status IS NOT NULL OR to_status = 'open'", name="created_open"),
        CheckConstraint(
            "(actor_kind = 'api_token') = (actor_token_id IS NOT NULL)"
            " AND (actor_kind = 'api_token') = (actor_telegram_id IS NULL)",
            name="actor_identified",
        ),
        Index(None, "ticket_id", "id"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    actor_kind: Mapped[ActorKind] = mapped_column(str_enum(ActorKind, "event_actor_kind"))
    actor_telegram_id: Mapped[int | None]
    actor_token_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_tokens.id", ondelete="RESTRICT")
    )
    from_status: Mapped[TicketStatus | None] = mapped_column(
        str_enum(TicketStatus, "event_from_status")
    )
    to_status: Mapped[TicketStatus] = mapped_column(str_enum(TicketStatus, "event_to_status"))
    created_at: Mapped[datetime] = mapped_column(server_default=sql("now()"))
