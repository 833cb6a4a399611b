"""Use cases of shoppers browsing: categories, pages of products, search, a product card."""

from __future__ import annotations

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


class Browse:
    """Read-only catalog queries (no transaction to commit)."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory

    async def categories(self) -> list[CategoryItem]:
        """Categories that have ready products, in display order."""
        async with self._session_factory() as session:
            rows = await CatalogRepository(session).categories_with_products()
        return [CategoryItem(*row) for row in rows]

    async def category_page(self, category_id: int, page: int, per_page: int) -> ProductPage:
        """Page ``page`` (0-based) of a category's ready products."""
        return await self._page(CatalogRepository.in_category(category_id), page, per_page)

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
