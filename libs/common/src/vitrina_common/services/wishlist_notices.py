"""Wishers hear once when a wished product gets cheaper or comes back on sale.

"Once" is the notification's dedup key: per product, new price and wisher for a drop (an
edit that leaves the price, or a repeated drop to the same price, tells nobody again), and
per return to sale for a comeback. Both are non-urgent: they wait for quiet hours to end.
Called inside the admin's edit transaction, so the notices exist exactly when the edit
commits: three statements however many wishers there are.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from vitrina_common.db.models import Product
from vitrina_common.repositories.wishlist import WishlistRepository
from vitrina_common.services.notifications import notify_each


async def tell_wishers_price_drop(
    session: AsyncSession, product: Product, old_price: int, now: datetime
) -> int:
    """The product's price went down from ``old_price``: tell its wishers; how many were
    told (a wisher told about this price before is not told again)."""
    if product.price_stars >= old_price:
        return 0
    return await notify_each(
        session,
        user_ids=await WishlistRepository(session).wishers(product.id),
        template="notifications.wishlist.price_drop",
        params={"title": product.title, "old": old_price, "price": product.price_stars},
        dedup_key=lambda user_id: f"wish-price:{product.id}:{product.price_stars}:{user_id}",
        urgent=False,
        now=now,
    )


async def tell_wishers_back_on_sale(session: AsyncSession, product: Product, now: datetime) -> int:
    """The product is on sale again: tell its wishers; how many were told."""
    # The moment it came back names this return: a later archive and restore is another.
    event = int(now.timestamp() * 1000)
    return await notify_each(
        session,
        user_ids=await WishlistRepository(session).wishers(product.id),
        template="notifications.wishlist.back_on_sale",
        params={"title": product.title, "price": product.price_stars},
        dedup_key=lambda user_id: f"wish-back:{product.id}:{event}:{user_id}",
        urgent=False,
        now=now,
    )
