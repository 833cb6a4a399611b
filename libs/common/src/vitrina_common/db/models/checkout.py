"""Checkout: orders, the purchases charges became, and the charges refused and refunded.

Money is in Telegram Stars (whole numbers, currency ``XTR``).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Identity, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from vitrina_common.db.base import Base, Timestamped
from vitrina_common.db.models.columns import str_enum


class OrderStatus(StrEnum):
    PENDING = "pending"
    # Pre-checkout said yes: a copy of a limited edition is held until ``reserved_until``.
    RESERVED = "reserved"
    PAID = "paid"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class PurchaseStatus(StrEnum):
    PAID = "paid"
    REFUNDED = "refunded"


class RefusalReason(StrEnum):
    """Why a charge that Telegram reported is given back instead of delivered."""

    UNKNOWN_ORDER = "unknown_order"
    AMOUNT_MISMATCH = "amount_mismatch"
    # A second charge for an order that already had one (Telegram can charge twice).
    ORDER_ALREADY_PAID = "order_already_paid"
    ALREADY_OWNED = "already_owned"
    SOLD_OUT = "sold_out"


class Order(Timestamped, Base):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("price_stars > 0", name="price_positive"),
        # Copies of a product held by pre-checkouts: counted against its edition size.
        Index(
            "ix_orders_reserved_product_id",
            "product_id",
            postgresql_where=text("status = 'reserved'"),
        ),
        # Retention: unpaid orders past their expiry. Paid orders, kept forever, stay out of
        # it. The predicate is a literal (not "<> 'paid'") so a status added later is never
        # swept up, and the retention query repeats it word for word.
        Index(
            "ix_orders_expires_at_unpaid",
            "expires_at",
            postgresql_where=text("status IN ('pending', 'reserved', 'expired', 'cancelled')"),
        ),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"))
    # The price the invoice was issued at; pre-checkout refuses when the product's price moved.
    price_stars: Mapped[int] = mapped_column(Integer)
    status: Mapped[OrderStatus] = mapped_column(
        str_enum(OrderStatus, "order_status"), server_default=OrderStatus.PENDING.value
    )
    # Random and unguessable: the invoice payload, so a payload cannot be forged into another order.
    invoice_payload: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    # While the order is reserved: the copy is held until then (database clock).
    reserved_until: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]


class Purchase(Timestamped, Base):
    __tablename__ = "purchases"
    __table_args__ = (
        CheckConstraint("price_stars > 0", name="price_positive"),
        # Sales charts and summaries aggregate purchases by day.
        Index(None, "created_at"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="RESTRICT"), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="RESTRICT"), index=True
    )
    price_stars: Mapped[int] = mapped_column(Integer)
    # Telegram's id of the payment: the same successful_payment seen twice inserts nothing.
    telegram_payment_charge_id: Mapped[str] = mapped_column(String(256), unique=True)
    status: Mapped[PurchaseStatus] = mapped_column(
        str_enum(PurchaseStatus, "purchase_status"), server_default=PurchaseStatus.PAID.value
    )
    refunded_at: Mapped[datetime | None]


class RefusedCharge(Base):
    """A charge Telegram reported that the shop gives back instead of delivering.

    One per Telegram charge id: a payment for a sold-out edition, a second charge of one
    order, a copy the shopper already owns, an amount or an order that does not match. The
    refund itself is an outbox row (``telegram.refund_charge``); ``refunded_at`` is set when
    Telegram confirmed it. Kept for accounting, like purchases.
    """

    __tablename__ = "refused_charges"
    __table_args__ = (CheckConstraint("amount >= 0", name="amount_not_negative"),)

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    telegram_payment_charge_id: Mapped[str] = mapped_column(String(256), unique=True)
    telegram_user_id: Mapped[int]
    # NULL when the payload named no order of the payer (then there is no product either).
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="RESTRICT"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"))
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(8))
    reason: Mapped[RefusalReason] = mapped_column(str_enum(RefusalReason, "refusal_reason", 32))
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    refunded_at: Mapped[datetime | None]
