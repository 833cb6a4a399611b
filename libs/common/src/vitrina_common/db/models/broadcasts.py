"""Broadcasts: one message an admin sends to an audience, and its materialised recipients."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Identity, Index, Integer, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from vitrina_common.db.base import Base, Timestamped
from vitrina_common.db.models.columns import str_enum


class BroadcastStatus(StrEnum):
    # Composed, waiting for its time (``send_at``); recipients not yet chosen.
    SCHEDULED = "scheduled"
    SENDING = "sending"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    DONE = "done"


class RecipientState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    # Given up after its attempts, or refused for good (the reason in ``error``).
    FAILED = "failed"
    # The user blocked the bot or deleted their account; the user is flagged too.
    BLOCKED = "blocked"


class Broadcast(Timestamped, Base):
    """What to send (``content``, see ``sending.message.OutgoingMessage``), to whom
    (``audience``, see ``services.broadcasts.audience``), and how far it got."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    status: Mapped[BroadcastStatus] = mapped_column(str_enum(BroadcastStatus, "broadcast_status"))
    content: Mapped[dict[str, Any]] = mapped_column(JSONB)
    audience: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # The admin who composed it: progress and the final report go to this chat.
    admin_chat_id: Mapped[int]
    send_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    recipients_total: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    # The live progress message in the admin's chat, once sent; and when it was last
    # edited (one replica edits it at a time, at most every few seconds).
    progress_message_id: Mapped[int | None]
    progress_at: Mapped[datetime | None]
    # When one replica took on the final report (done or cancelled): it is sent once.
    reported_at: Mapped[datetime | None]


class BroadcastRecipient(Base):
    """One chat a broadcast goes to, exactly once: claimed with ``FOR UPDATE SKIP LOCKED``
    by one sender at a time, its send and its new state in one transaction."""

    __tablename__ = "broadcast_recipients"
    __table_args__ = (
        # Materialised once: a chat is one recipient of a broadcast.
        UniqueConstraint("broadcast_id", "chat_id"),
        # The senders' claim: the pending recipients of a broadcast in id order.
        Index(
            "ix_broadcast_recipients_pending",
            "broadcast_id",
            "id",
            postgresql_where=text("state = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    chat_id: Mapped[int]
    state: Mapped[RecipientState] = mapped_column(
        str_enum(RecipientState, "recipient_state"), server_default=RecipientState.PENDING.value
    )
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_attempt_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
