"""Wishlists: ♡ on a product card, the shopper's paged list, and the notices wishers get
when a wished product gets cheaper or is back on sale (``wishlist_notices``)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.db.models import ProductStatus
from vitrina_common.repositories.products import ProductRepository
from vitrina_common.repositories.users import UserRepository
from vitrina_common.repositories.wishlist import WishedProduct, WishlistRepository

SessionFactory = async_sessionmaker[AsyncSession]


@dataclass(frozen=True)
class WishlistPage:
    """One page of a wishlist, newest first, and how many wishes in all."""

    items: list[WishedProduct]
    total: int


class Wishlist:
    """A shopper's wishes: toggle one, ask about one, page through them."""

    def __init__(
        self, session_factory: SessionFactory, read_sessions: SessionFactory | None = None
    ) -> None:
        self._session_factory = session_factory
        # One-statement reads (the card's ♡) on autocommit sessions: no BEGIN/ROLLBACK.
        self._read_sessions = read_sessions or session_factory

    async def toggle(self, telegram_id: int, product_id: int) -> bool | None:
        """Wish for the product, or stop wishing; whether it is wished for now. None for an
        unknown shopper or a product a shopper cannot see (a forged id)."""
        async with self._session_factory() as session, session.begin():
            user = await UserRepository(session).get_by_telegram_id(telegram_id)
            product = await ProductRepository(session).get(product_id)
            if user is None or product is None:
                return None
            wishes = WishlistRepository(session)
            if await wishes.remove(user.id, product.id):
                return False
            # Only what is on sale can be wished for; an archived wish can still be removed.
            if product.status is not ProductStatus.READY:
                return None
            await wishes.add(user.id, product.id)
            return True

    async def contains(self, telegram_id: int, product_id: int) -> bool:
        """Whether the shopper wished for the product."""
        async with self._read_sessions() as session:
            return await WishlistRepository(session).contains(telegram_id, product_id)

    async def page(self, telegram_id: int, offset: int, limit: int) -> WishlistPage:
        """A page of the shopper's wishes."""
        async with self._session_factory() as session:
            items, total = await WishlistRepository(session).page(
                telegram_id, max(offset, 0), limit
            )
        return WishlistPage(items, total)
