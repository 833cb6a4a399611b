"""Read-only use cases behind the HTTP API's /products, /orders and /purchases.

Each list is a keyset page: ``after`` is the last id of the previous page. A page says
whether another follows by fetching one row more than it returns.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.repositories.shop_data import (
    OrderFilter,
    ProductFilter,
    PurchaseFilter,
    ShopDataRepository,
)

__all__ = ["OrderFilter", "Page", "ProductFilter", "PurchaseFilter", "ShopData"]

Row = dict[str, Any]


@dataclass(frozen=True)
class Page:
    """Rows of one page and the id to continue after, None on the last page."""

    items: list[Row]
    next_after: int | None


def _page(rows: list[Row], limit: int) -> Page:
    if len(rows) > limit:
        return Page(items=rows[:limit], next_after=rows[limit - 1]["id"])
    return Page(items=rows, next_after=None)


class ShopData:
    """Products, orders and purchases as integrations read them (one statement each, no
    transaction: the sessions are the autocommit read sessions)."""

    def __init__(self, read_sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = read_sessions

    async def _run(self, query: Callable[[ShopDataRepository], Awaitable[Any]]) -> Any:
        async with self._sessions() as session:
            return await query(ShopDataRepository(session))

    async def products(self, where: ProductFilter, after: int | None, limit: int) -> Page:
        """A page of products in id order."""
        rows = await self._run(lambda repo: repo.products(where, after, limit + 1))
        return _page(rows, limit)

    async def product(self, product_id: int) -> Row | None:
        """One product, or None."""
        row: Row | None = await self._run(lambda repo: repo.product(product_id))
        return row

    async def orders(self, where: OrderFilter, after: int | None, limit: int) -> Page:
        """A page of orders in id order."""
        rows = await self._run(lambda repo: repo.orders(where, after, limit + 1))
        return _page(rows, limit)

    async def order(self, order_id: int) -> Row | None:
        """One order, or None."""
        row: Row | None = await self._run(lambda repo: repo.order(order_id))
        return row

    async def purchases(self, where: PurchaseFilter, after: int | None, limit: int) -> Page:
        """A page of purchases in id order."""
        rows = await self._run(lambda repo: repo.purchases(where, after, limit + 1))
        return _page(rows, limit)

    async def purchase(self, purchase_id: int) -> Row | None:
        """One purchase, or None."""
        row: Row | None = await self._run(lambda repo: repo.purchase(purchase_id))
        return row
