"""Use cases of shoppers browsing: categories, pages of products, search, a product card."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.repositories.catalog import CatalogRepository

MIN_SEARCH_LENGTH = 2
MAX_SEARCH_LENGTH = 64


@dataclass(frozen=True)
class CategoryItem:
    """A category in the catalog's first screen."""

    id: int
    title: str
    products: int


@dataclass(frozen=True)
class ProductItem:
    """A product in a list."""

    id: int
    title: str
    price_stars: int


@dataclass(frozen=True)
class ProductPage:
    """One page of a product list and how many there are in all."""

    items: list[ProductItem]
    total: int


@dataclass(frozen=True)
class ProductCard:
    """What a shopper sees of one product."""

    id: int
    title: str
    description: str
    price_stars: int
    preview_file_id: str | None
    edition_size: int | None


class CategoryCounts:
    """The categories screen and every category's product count, recounted at most every
    ``ttl_s`` seconds per process.

    Counting is the one catalog query whose cost grows with the catalog: at 100 000
    products, counting a category's ready products took 6 ms and the categories screen
    24 ms of Postgres (both scan every ready row), while a page of rows from the index
    takes 0.2 ms. So counts are shared: one recount per ``ttl_s`` however many shoppers
    tap. A product made ready or archived meanwhile shows in (or leaves) the pages at
    once; only the number of pages and the counts on the categories screen lag, by at most
    ``ttl_s``, or not at all where the process itself learns of a change and calls
    ``forget``. ``ttl_s`` 0 counts every time.
    """

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session_factory = session_factory
        self._ttl_s = ttl_s
        self._clock = clock
        self._items: list[CategoryItem] = []
        self._expires = 0.0
        self._recount = asyncio.Lock()  # one recount at a time; the others wait for it

    async def categories(self) -> list[CategoryItem]:
        """Categories that have ready products, in display order, with their counts."""
        if self._clock() < self._expires:
            return self._items
        async with self._recount:
            if self._clock() >= self._expires:  # nobody recounted while we waited
                async with self._session_factory() as session:
                    rows = await CatalogRepository(session).categories_with_products()
                self._items = [CategoryItem(*row) for row in rows]
                self._expires = self._clock() + self._ttl_s
        return self._items

    def forget(self) -> None:
        """The catalog changed: count again on the next read."""
        self._expires = 0.0

    async def products_in(self, category_id: int) -> int:
        """How many ready products the category has."""
        found = (item.products for item in await self.categories() if item.id == category_id)
        return next(found, 0)


class Browse:
    """Read-only catalog queries (no transaction to commit).

    ``counts``: product counts shared for a few seconds (the bot's); without them, every
    read counts afresh.
    """

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        counts: CategoryCounts | None = None,
    ) -> None:
        self._session_factory = session_factory
        self._counts = counts or CategoryCounts(session_factory, ttl_s=0.0)

    async def categories(self) -> list[CategoryItem]:
        """Categories that have ready products, in display order."""
        return await self._counts.categories()

    async def category_page(self, category_id: int, page: int, per_page: int) -> ProductPage:
        """Page ``page`` (0-based) of a category's ready products."""
        total = await self._counts.products_in(category_id)
        async with self._session_factory() as session:
            rows = await CatalogRepository(session).rows(
                CatalogRepository.in_category(category_id), max(page, 0) * per_page, per_page
            )
        return ProductPage([ProductItem(*row) for row in rows], total)

    async def search(self, text: str, page: int, per_page: int) -> ProductPage:
        """Page ``page`` of ready products whose title or description contains ``text``."""
        query = text.strip()[:MAX_SEARCH_LENGTH]
        if len(query) < MIN_SEARCH_LENGTH:
            return ProductPage([], 0)
        return await self._page(CatalogRepository.matching(query), page, per_page)

    async def _page(self, query: Select[int, str, int], page: int, per_page: int) -> ProductPage:
        async with self._session_factory() as session:
            rows, total = await CatalogRepository(session).page(
                query, max(page, 0) * per_page, per_page
            )
        return ProductPage([ProductItem(*row) for row in rows], total)

    async def card(self, product_id: int) -> ProductCard | None:
        """The card of a ready product; None for anything a shopper may not see."""
        async with self._session_factory() as session:
            product = await CatalogRepository(session).ready_product(product_id)
        if product is None:
            return None
        return ProductCard(
            id=product.id,
            title=product.title,
            description=product.description,
            price_stars=product.price_stars,
            preview_file_id=product.preview_file_id,
            edition_size=product.edition_size,
        )
