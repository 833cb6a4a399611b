"""Read-only queries over products, orders and purchases for integrations (the HTTP API).

Lists are keyset pages in id order: ``after`` is the last id the caller saw, so rows
inserted meanwhile never shift a page (new ids only come after the end).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.ext.asyncio import AsyncSession

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


@dataclass(frozen=True)
class ProductFilter:
    """Which products a list holds; None means any."""

    category_id: int | None = None
    status: ProductStatus | None = None
    since: datetime | None = None


@dataclass(frozen=True)
class OrderFilter:
    """Which orders a list holds; None means any."""

    user_id: int | None = None
    telegram_user_id: int | None = None
    product_id: int | None = None
    status: OrderStatus | None = None
    since: datetime | None = None


@dataclass(frozen=True)
class PurchaseFilter:
    """Which purchases a list holds; None means any."""

    user_id: int | None = None
    telegram_user_id: int | None = None
    product_id: int | None = None
    status: PurchaseStatus | None = None
    since: datetime | None = None


_PRODUCT_COLUMNS = (
    Product.id,
    Product.title,
    Product.description,
    Product.price_stars,
    Product.status,
    Product.edition_size,
    Product.category_id,
    Category.title.label("category_title"),
    Product.created_at,
    Product.updated_at,
)
_ORDER_COLUMNS = (
    Order.id,
    Order.user_id,
    User.telegram_id.label("telegram_user_id"),
    Order.product_id,
    Order.price_stars,
    Order.status,
    Order.created_at,
    Order.expires_at,
    Order.paid_at,
)
_PURCHASE_COLUMNS = (
    Purchase.id,
    Purchase.order_id,
    Purchase.user_id,
    User.telegram_id.label("telegram_user_id"),
    Purchase.product_id,
    Purchase.price_stars,
    Purchase.status,
    Purchase.telegram_payment_charge_id,
    Purchase.created_at,
    Purchase.refunded_at,
)


def _conditions(
    equal: list[tuple[Any, object | None]], created: Any, since: datetime | None
) -> list[ColumnElement[bool]]:
    """``column = value`` for each value given, and ``created >= since`` when given."""
    conditions = [column == value for column, value in equal if value is not None]
    if since is not None:
        conditions.append(created >= since)
    return conditions


class ShopDataRepository:
    """Rows as plain mappings, one query per page or item."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def _page(
        self, query: Select[*tuple[Any, ...]], id_column: Any, after: int | None, limit: int
    ) -> list[dict[str, Any]]:
        if after is not None:
            query = query.where(id_column > after)
        rows = await self._session.execute(query.order_by(id_column).limit(limit))
        return [dict(row) for row in rows.mappings()]

    async def _one(self, query: Select[*tuple[Any, ...]]) -> dict[str, Any] | None:
        row = (await self._session.execute(query)).mappings().one_or_none()
        return dict(row) if row is not None else None

    def _products(self) -> Select[*tuple[Any, ...]]:
        return select(*_PRODUCT_COLUMNS).join(Category, Category.id == Product.category_id)

    async def products(
        self, where: ProductFilter, after: int | None, limit: int
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` products with ids above ``after``."""
        conditions = _conditions(
            [(Product.category_id, where.category_id), (Product.status, where.status)],
            Product.created_at,
            where.since,
        )
        return await self._page(self._products().where(*conditions), Product.id, after, limit)

    async def product(self, product_id: int) -> dict[str, Any] | None:
        """One product by id."""
        return await self._one(self._products().where(Product.id == product_id))

    def _orders(self) -> Select[*tuple[Any, ...]]:
        return select(*_ORDER_COLUMNS).join(User, User.id == Order.user_id)

    async def orders(
        self, where: OrderFilter, after: int | None, limit: int
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` orders with ids above ``after``."""
        conditions = _conditions(
            [
                (Order.user_id, where.user_id),
                (User.telegram_id, where.telegram_user_id),
                (Order.product_id, where.product_id),
                (Order.status, where.status),
            ],
            Order.created_at,
            where.since,
        )
        return await self._page(self._orders().where(*conditions), Order.id, after, limit)

    async def order(self, order_id: int) -> dict[str, Any] | None:
        """One order by id."""
        return await self._one(self._orders().where(Order.id == order_id))

    def _purchases(self) -> Select[*tuple[Any, ...]]:
        return select(*_PURCHASE_COLUMNS).join(User, User.id == Purchase.user_id)

    async def purchases(
        self, where: PurchaseFilter, after: int | None, limit: int
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` purchases with ids above ``after``."""
        conditions = _conditions(
            [
                (Purchase.user_id, where.user_id),
                (User.telegram_id, where.telegram_user_id),
                (Purchase.product_id, where.product_id),
                (Purchase.status, where.status),
            ],
            Purchase.created_at,
            where.since,
        )
        return await self._page(self._purchases().where(*conditions), Purchase.id, after, limit)

    async def purchase(self, purchase_id: int) -> dict[str, Any] | None:
        """One purchase by id."""
        return await self._one(self._purchases().where(Purchase.id == purchase_id))
