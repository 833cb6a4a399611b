"""Notifications to one shopper (waitlist turns, digests, price drops) and the categories a
shopper follows."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Identity, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from vitrina_common.db.base import Base, Timestamped
from vitrina_common.db.models.columns import str_enum


class NotificationState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    # Given up after its attempts, or refused for good (the reason in ``error``).
    FAILED = "failed"
    # Telegram said the user blocked the bot (the user is flagged too).
    BLOCKED = "blocked"
    # Not sent: the user was banned or had blocked the bot by the time it was due.
    SKIPPED = "skipped"


class Notification(Timestamped, Base):
    """One message to one user, rendered from ``template`` in their language when it is
    sent; claimed with ``FOR UPDATE SKIP LOCKED`` by one sender at a time, its send and its
    new state in one transaction."""

    __tablename__ = "notifications"
    __table_args__ = (
        # The senders' claim: pending rows whose time has come.
        Index(
            "ix_notifications_pending",
            "send_after",
            "id",
            postgresql_where=text("state = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    template: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # [{"text": template key, "callback_data" | "url": ...}], one button a row.
    buttons: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default=text("'[]'"))
    # The caller's idempotency key: a notice with a key used before is not created again.
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    urgent: Mapped[bool]
    state: Mapped[NotificationState] = mapped_column(
        str_enum(NotificationState, "notification_state"),
        server_default=NotificationState.PENDING.value,
    )
    # Not sent before this: the end of the recipient's quiet hours, or a retry's backoff.
    send_after: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]


class CategoryFollow(Base):
    """A shopper follows a category: its new products come in their daily digest."""

    __tablename__ = "category_follows"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    category_id: Mapped[int] = mapped_column(
        ForeignKey("categories.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    # Products added before the follow are not news to the follower.
    created_at: Mapped[datetime]
