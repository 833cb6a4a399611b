"""Orders: one per invoice, found by its random payload."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, NamedTuple

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from vitrina_common.db.models import Order, OrderStatus, Product, User


class OrderContext(NamedTuple):
    """An order with what checking or recording a payment for it needs, in one query."""

    order: Order
    product: Product
    payer_telegram_id: int
    # Judged by the database clock, the one every replica shares.
    is_live: bool
    # Reserved, and the reservation has not run out (a copy is held for this order).
    holds_copy: bool


# Orders still waiting for their payment.
_OPEN = (OrderStatus.PENDING, OrderStatus.RESERVED)


class OrderRepository:
    """Reads and writes ``orders`` inside the caller's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add_pending(
        self, user_id: int, product_id: int, price_stars: int, invoice_payload: str, ttl: timedelta
    ) -> Order:
        """A new pending order that expires ``ttl`` after now (database clock)."""
        result = await self._session.execute(
            insert(Order)
            .values(
                user_id=user_id,
                product_id=product_id,
                price_stars=price_stars,
                invoice_payload=invoice_payload,
                expires_at=func.now() + ttl,
            )
            .returning(Order)
        )
        return result.scalar_one()

    async def by_payload(self, invoice_payload: str, *, lock: bool = False) -> OrderContext | None:
        """The order with this payload, its product and payer; ``lock`` holds the order row.

        Two indexed lookups joined (payload is unique, the rest are primary keys), so it is
        cheap enough for pre-checkout's deadline.
        """
        holds_copy = (Order.status == OrderStatus.RESERVED) & (Order.reserved_until > func.now())
        statement = (
            select(Order, Product, User.telegram_id, Order.expires_at > func.now(), holds_copy)
            .join(Product, Product.id == Order.product_id)
            .join(User, User.id == Order.user_id)
            .where(Order.invoice_payload == invoice_payload)
        )
        if lock:
            # Only the order row: payments for one order queue up, the product stays free.
            statement = statement.with_for_update(of=Order)
        row = (await self._session.execute(statement)).one_or_none()
        if row is None:
            return None
        order, product, payer_telegram_id, is_live, holds = row
        return OrderContext(order, product, payer_telegram_id, bool(is_live), bool(holds))

    async def mark_expired(self, order_id: int) -> bool:
        """Pending or reserved → expired; False when it was neither."""
        return await self._move(order_id, _OPEN, status=OrderStatus.EXPIRED, reserved_until=None)

    async def mark_cancelled(self, order_id: int) -> bool:
        """Pending or reserved → cancelled (its payment was refused); False when neither."""
        return await self._move(order_id, _OPEN, status=OrderStatus.CANCELLED, reserved_until=None)

    async def reserve(self, order_id: int, ttl: timedelta) -> None:
        """Pending or reserved → reserved until ``ttl`` from now (database clock)."""
        await self._move(
            order_id, _OPEN, status=OrderStatus.RESERVED, reserved_until=func.now() + ttl
        )

    async def release(self, order_id: int) -> bool:
        """Reserved → pending: the copy goes back (the "yes" never reached Telegram)."""
        return await self._move(
            order_id, (OrderStatus.RESERVED,), status=OrderStatus.PENDING, reserved_until=None
        )

    async def held_copies(self, product_id: int, except_user_id: int | None) -> int:
        """Copies of the product held by live reservations of shoppers other than
        ``except_user_id`` (None: of anyone)."""
        statement = (
            select(func.count())
            .select_from(Order)
            .where(
                Order.product_id == product_id,
                Order.status == OrderStatus.RESERVED,
                Order.reserved_until > func.now(),
            )
        )
        if except_user_id is not None:
            statement = statement.where(Order.user_id != except_user_id)
        return await self._session.scalar(statement) or 0

    async def _move(
        self, order_id: int, from_statuses: tuple[OrderStatus, ...], **values: Any
    ) -> bool:
        result = await self._session.execute(
            update(Order)
            .where(Order.id == order_id, Order.status.in_(from_statuses))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def mark_paid(self, order_id: int) -> bool:
        """Any state → paid (money was taken whatever the order said); False if already paid."""
        result = await self._session.execute(
            update(Order)
            .where(Order.id == order_id, Order.status != OrderStatus.PAID)
            .values(status=OrderStatus.PAID, paid_at=func.now(), reserved_until=None)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]
