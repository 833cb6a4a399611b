"""Writing sales history straight into the database: users, products and purchases at
chosen instants (the storefront would stamp them with ``now()``)."""

from __future__ import annotations

import hashlib
import itertools
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.db.models import (
    Category,
    Order,
    OrderStatus,
    Product,
    ProductStatus,
    Purchase,
    PurchaseStatus,
    User,
)

SessionFactory = async_sessionmaker[AsyncSession]
_charges = itertools.count(1)


class SalesHistory:
    """Adds rows with explicit ``created_at``; ids are returned for later references."""

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    async def user(
        self, telegram_id: int, at: datetime, username: str | None = None, **fields: object
    ) -> int:
        async with self._sessions() as session, session.begin():
            user = User(telegram_id=telegram_id, username=username, created_at=at, **fields)
            session.add(user)
            await session.flush()
            return user.id

    async def product(self, title: str, price: int = 50, category: str = "Prints") -> int:
        async with self._sessions() as session, session.begin():
            category_id = await session.scalar(
                select(Category.id).where(Category.title == category)
            )
            if category_id is None:
                row = Category(title=category)
                session.add(row)
                await session.flush()
                category_id = row.id
            sha = hashlib.sha256(title.encode()).hexdigest()
            product = Product(
                category_id=category_id, title=title, price_stars=price,
                status=ProductStatus.READY, original_key=sha, original_sha256=sha,
                original_size=1000, original_mime="image/jpeg",
            )  # fmt: skip
            session.add(product)
            await session.flush()
            return product.id

    async def purchase(
        self, user_id: int, product_id: int, at: datetime, price: int, *, refunded: bool = False
    ) -> int:
        charge = f"history-{next(_charges)}"
        async with self._sessions() as session, session.begin():
            order = Order(
                user_id=user_id, product_id=product_id, price_stars=price,
                status=OrderStatus.PAID, invoice_payload=charge,
                expires_at=at + timedelta(minutes=15), paid_at=at, created_at=at,
            )  # fmt: skip
            session.add(order)
            await session.flush()
            purchase = Purchase(
                order_id=order.id, user_id=user_id, product_id=product_id, price_stars=price,
                telegram_payment_charge_id=charge, created_at=at,
                status=PurchaseStatus.REFUNDED if refunded else PurchaseStatus.PAID,
                refunded_at=at + timedelta(hours=1) if refunded else None,
            )  # fmt: skip
            session.add(purchase)
            await session.flush()
            return purchase.id
