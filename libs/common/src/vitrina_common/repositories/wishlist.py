"""Wishlists: the products shoppers wished for."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from vitrina_common.db.models import Product, ProductStatus, User, WishlistItem


class WishedProduct(NamedTuple):
    """A line of a shopper's wishlist."""

    product_id: int
    title: str
    price_stars: int
    on_sale: bool


class WishlistRepository:
    """Reads and writes ``wishlist_items`` inside the caller's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, user_id: int, product_id: int) -> bool:
        """Wish for the product; False when it was wished for already."""
        result = await self._session.execute(
            insert(WishlistItem)
            .values(user_id=user_id, product_id=product_id)
            .on_conflict_do_nothing()
            .returning(WishlistItem.product_id)
        )
        return result.scalar_one_or_none() is not None

    async def remove(self, user_id: int, product_id: int) -> bool:
        """Stop wishing; False when it was not wished for."""
        result = await self._session.execute(
            delete(WishlistItem)
            .where(WishlistItem.user_id == user_id, WishlistItem.product_id == product_id)
            .returning(WishlistItem.product_id)
        )
        return result.scalar_one_or_none() is not None

    async def contains(self, telegram_id: int, product_id: int) -> bool:
        """Whether this shopper wished for the product."""
        found = await self._session.scalar(
            select(func.count())
            .select_from(WishlistItem)
            .join(User, User.id == WishlistItem.user_id)
            .where(User.telegram_id == telegram_id, WishlistItem.product_id == product_id)
        )
        return bool(found)

    async def page(
        self, telegram_id: int, offset: int, limit: int
    ) -> tuple[list[WishedProduct], int]:
        """Newest wishes first (archived products too, marked), and how many in all."""
        mine = (
            select(WishlistItem.product_id, WishlistItem.created_at)
            .join(User, User.id == WishlistItem.user_id)
            .where(User.telegram_id == telegram_id)
            .subquery()
        )
        rows = await self._session.execute(
            select(Product.id, Product.title, Product.price_stars, Product.status)
            .join(mine, mine.c.product_id == Product.id)
            .order_by(mine.c.created_at.desc(), Product.id.desc())
            .offset(offset)
            .limit(limit)
        )
        total = await self._session.scalar(select(func.count()).select_from(mine))
        items = [
            WishedProduct(pid, title, price, status is ProductStatus.READY)
            for pid, title, price, status in rows
        ]
        return items, total or 0

    async def wishers(self, product_id: int) -> list[int]:
        """User ids of everyone who wished for the product (banned ones too: notify skips
        them)."""
        rows = await self._session.scalars(
            select(WishlistItem.user_id).where(WishlistItem.product_id == product_id)
        )
        return list(rows)
