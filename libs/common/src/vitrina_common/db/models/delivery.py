"""What crosses to and from the outside reliably: the update inbox and the outbox."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, Identity, Index, SmallInteger, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from vitrina_common.db.base import Base
from vitrina_common.db.models.columns import str_enum


class UpdateOutcome(StrEnum):
    """How an inbox row of a money update was closed."""

    PROCESSED = "processed"
    # A pre-checkout query replayed after Telegram's 10-second window: not answered.
    EXPIRED = "expired"
    # Failed every attempt; the admins were told.
    DEAD = "dead"


class OutboxMessage(Base):
    """Work that must happen after a commit (send a file, publish an event), done by a relay."""

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        # The relay's scan: open rows (neither delivered nor dead) that are due, oldest first.
        Index(
            "ix_outbox_due",
            "available_at",
            postgresql_where=text("delivered_at IS NULL AND dead_at IS NULL"),
        ),
        # Retention: rows delivered long ago, and rows dead long ago (few).
        Index(
            "ix_outbox_delivered_at",
            "delivered_at",
            postgresql_where=text("delivered_at IS NOT NULL"),
        ),
        Index(
            "ix_outbox_dead_at",
            "dead_at",
            postgresql_where=text("dead_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    # Makes writing the same intent twice a no-op (e.g. "deliver:<purchase id>").
    dedup_key: Mapped[str] = mapped_column(String(128), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    attempts: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    available_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    delivered_at: Mapped[datetime | None]
    # Given up after the last attempt; the admins were told (``last_error`` says why).
    dead_at: Mapped[datetime | None]


class TelegramUpdate(Base):
    """The inbox: updates seen, by Telegram's update_id.

    Money-carrying updates (pre_checkout_query, successful_payment) are written here before
    Telegram is told they were received, and marked processed after their transaction; a
    crash in between leaves them here to be processed at the next start. Every update's id
    is recorded so a repeated delivery (webhook retry, polling replay) is recognised.
    """

    __tablename__ = "telegram_updates"
    __table_args__ = (
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        # The replay's scan: open money updates that are due. Few rows: every other update
        # is recorded only for deduplication (no payload) and never matches.
        Index(
            "ix_telegram_updates_due",
            "next_attempt_at",
            postgresql_where=text("processed_at IS NULL AND payload IS NOT NULL"),
        ),
        # Retention: old rows, whichever rule decides they are closed (almost every row is
        # a candidate, so a partial index would save nothing and tie the index to the rule).
        Index("ix_telegram_updates_received_at_all", "received_at"),
    )

    update_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(32))
    # SQL NULL for an update without money (none_as_null: JSON's null would pass the
    # replay's "payload IS NOT NULL" and make every tap look like an unfinished payment).
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    received_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    # Closed: processed, expired or dead (``outcome`` says which); NULL while open.
    processed_at: Mapped[datetime | None]
    outcome: Mapped[UpdateOutcome | None] = mapped_column(str_enum(UpdateOutcome, "update_outcome"))
    attempts: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))
    last_error: Mapped[str | None] = mapped_column(Text)
    # A failed attempt is retried from then on (exponential backoff).
    next_attempt_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
