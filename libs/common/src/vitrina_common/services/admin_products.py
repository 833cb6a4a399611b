"""Use cases of the shop admin's product screens: the list, the card, and edits of it.

Every change is one transaction on the product's locked row, so two admins (or an admin and
the worker) never interleave half-changes. A price change leaves issued invoices alone:
pre-checkout compares the order's price with the product's and refuses a changed one.
Archiving, restoring, re-rendering and deleting are in ``admin_products_lifecycle``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.clock import Clock, SystemClock
from vitrina_common.db.models import Product, ProductStatus
from vitrina_common.imports.model import MAX_PRICE_STARS, MIN_PRICE_STARS
from vitrina_common.repositories.categories import CategoryRepository
from vitrina_common.repositories.products import ProductLine, ProductRepository
from vitrina_common.services.wishlist_notices import tell_wishers_price_drop
from vitrina_common.text_limits import MAX_DESCRIPTION_CHARS, MAX_TITLE_CHARS

SessionFactory = async_sessionmaker[AsyncSession]

# An admin sends this to clear a description (an empty message cannot be sent).
CLEAR_DESCRIPTION = "-"


class ProductRefusal(StrEnum):
    """Why an admin's change to a product was not made."""

    NOT_FOUND = "not_found"
    TITLE = "title"
    DESCRIPTION = "description"
    PRICE = "price"
    CATEGORY = "category"
    RENDERING = "rendering"
    ARCHIVED = "archived"
    NOT_ARCHIVED = "not_archived"


@dataclass(frozen=True)
class ProductListPage:
    """One page of the admin's product list and how many products match in all."""

    items: list[ProductLine]
    total: int


@dataclass(frozen=True)
class AdminProductCard:
    """Everything the admin's product card shows."""

    id: int
    title: str
    description: str
    price_stars: int
    status: ProductStatus
    category_id: int
    category_title: str
    # Paid, not refunded copies.
    sold: int
    preview_file_id: str | None
    failure_reason: str | None


def parse_price(text: str) -> int | None:
    """A price an admin typed ("150", "150 ⭐") as whole Stars; None when it is not one."""
    digits = text.strip().removesuffix("⭐").strip()
    if not digits.isdecimal() or not digits.isascii() or len(digits) > len(str(MAX_PRICE_STARS)):
        return None
    price = int(digits)
    return price if MIN_PRICE_STARS <= price <= MAX_PRICE_STARS else None


class AdminProducts:
    """The product list, the card, and edits of title, description, price and category.

    ``clock`` dates the wishers' price-drop notices.
    """

    def __init__(self, session_factory: SessionFactory, clock: Clock | None = None) -> None:
        self._session_factory = session_factory
        self._clock = clock or SystemClock()

    async def page(
        self, offset: int, limit: int, *, status: ProductStatus | None = None, search: str = ""
    ) -> ProductListPage:
        """Products of every status (or ``status``), newest first; ``search`` matches the
        title or an id (``#12``)."""
        async with self._session_factory() as session:
            rows, total = await ProductRepository(session).admin_page(
                status, search, max(offset, 0), limit
            )
        return ProductListPage(rows, total)

    async def card(self, product_id: int) -> AdminProductCard | None:
        """The product whatever its status, None when there is no such product."""
        async with self._session_factory() as session:
            products = ProductRepository(session)
            found = await products.with_category_title(product_id)
            if found is None:
                return None
            product, category_title = found
            references = await products.references(product_id)
        return AdminProductCard(
            id=product.id,
            title=product.title,
            description=product.description,
            price_stars=product.price_stars,
            status=product.status,
            category_id=product.category_id,
            category_title=category_title,
            sold=references.paid_purchases,
            preview_file_id=product.preview_file_id,
            failure_reason=product.failure_reason,
        )

    async def rename(self, product_id: int, text: str) -> ProductRefusal | None:
        """New title (1 to 128 characters after trimming); None when saved."""
        title = text.strip()
        if not title or len(title) > MAX_TITLE_CHARS or "\n" in title:
            return ProductRefusal.TITLE
        return await self._change(product_id, title=title)

    async def describe(self, product_id: int, text: str) -> ProductRefusal | None:
        """New description (up to 800 characters; ``-`` clears it); None when saved."""
        description = text.strip()
        if description == CLEAR_DESCRIPTION:
            description = ""
        if len(description) > MAX_DESCRIPTION_CHARS:
            return ProductRefusal.DESCRIPTION
        return await self._change(product_id, description=description)

    async def reprice(self, product_id: int, text: str) -> ProductRefusal | None:
        """New price, a whole number of Stars from 1 to 100 000; None when saved.

        Invoices already issued keep their price: pre-checkout refuses to take the money
        for them once the product's price differs, and the shopper is told to look again.
        A lower price is told to the product's wishers in the same commit.
        """
        price = parse_price(text)
        if price is None:
            return ProductRefusal.PRICE
        async with self._session_factory() as session, session.begin():
            product = await ProductRepository(session).get_for_update(product_id)
            if product is None:
                return ProductRefusal.NOT_FOUND
            old_price, product.price_stars = product.price_stars, price
            if product.status is ProductStatus.READY:
                await tell_wishers_price_drop(session, product, old_price, self._clock.now())
        return None

    async def move_to_category(self, product_id: int, category_id: int) -> ProductRefusal | None:
        """Put the product into an existing category; None when saved."""
        async with self._session_factory() as session, session.begin():
            # Locked, so a delete of the category waits for this move and then counts it.
            if await CategoryRepository(session).get_for_update(category_id) is None:
                return ProductRefusal.CATEGORY
            return await _update(session, product_id, category_id=category_id)

    async def _change(self, product_id: int, **values: object) -> ProductRefusal | None:
        async with self._session_factory() as session, session.begin():
            return await _update(session, product_id, **values)


async def _update(
    session: AsyncSession, product_id: int, **values: object
) -> ProductRefusal | None:
    product: Product | None = await ProductRepository(session).get_for_update(product_id)
    if product is None:
        return ProductRefusal.NOT_FOUND
    for name, value in values.items():
        setattr(product, name, value)
    return None
