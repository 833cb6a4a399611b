"""Wishlists, limited-edition waitlists, and copies reserved for waitlisted shoppers.

A waitlist entry waits for a copy of a sold-out edition; when one is freed (a refund, a
larger edition) it becomes an ``EditionReservation`` offered to the first in line for a
while. The reservations are also the admin's log of who was offered what and how it ended.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Identity, Index, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from vitrina_common.db.base import Base
from vitrina_common.db.models.columns import str_enum


class ReservationState(StrEnum):
    # Held for the shopper until ``expires_at``: counted as taken for everyone else.
    OFFERED = "offered"
    # The shopper's pre-checkout took the copy over (the order's hold keeps it from then on).
    BOUGHT = "bought"
    EXPIRED = "expired"
    # The shopper declined, or an admin took it back.
    CANCELLED = "cancelled"


class ReservationCause(StrEnum):
    """What freed the copy that was offered."""

    REFUND = "refund"
    EDITION_RAISED = "edition_raised"
    # The previous shopper's reservation ran out or was declined.
    PASSED_ON = "passed_on"


class WishlistItem(Base):
    """A product a shopper wished for: they hear once when its price drops or it is back."""

    __tablename__ = "wishlist_items"
    # Whom to tell about a product: the primary key leads with the user.
    __table_args__ = (Index(None, "product_id"),)

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class WaitlistEntry(Base):
    """A shopper waiting for a copy of a sold-out edition, first in, first served.

    ``queue_key`` orders the line (the next key of the product when joining, swapped with a
    neighbour when an admin moves someone); the position is counted, never stored.
    """

    __tablename__ = "waitlist_entries"
    __table_args__ = (
        UniqueConstraint("product_id", "user_id"),
        Index(None, "product_id", "queue_key"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    queue_key: Mapped[int]
    joined_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class EditionReservation(Base):
    """A freed copy offered to one waitlisted shopper until ``expires_at``; kept as the log."""

    __tablename__ = "edition_reservations"
    __table_args__ = (
        # One live offer per shopper and product.
        Index(
            "uq_edition_reservations_offered",
            "product_id",
            "user_id",
            unique=True,
            postgresql_where=text("state = 'offered'"),
        ),
        Index(None, "product_id", "id"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    state: Mapped[ReservationState] = mapped_column(
        str_enum(ReservationState, "reservation_state"),
        server_default=ReservationState.OFFERED.value,
    )
    cause: Mapped[ReservationCause] = mapped_column(str_enum(ReservationCause, "reservation_cause"))
    offered_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    # The order whose pre-checkout took the copy over.
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
