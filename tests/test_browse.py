"""What shoppers browse, against a real Postgres: pages from the index, counts shared for a
few seconds so that counting does not grow with every tap on a large catalog."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.storefront import stock_shop
from vitrina_common.db.models import Product, ProductStatus
from vitrina_common.repositories.catalog import CatalogRepository
from vitrina_common.services.browse import Browse, CategoryCounts

pytestmark = pytest.mark.postgres

SessionFactory = async_sessionmaker[AsyncSession]
TITLES = [f"View {n:02}" for n in range(1, 12)]


async def _archive(sessions: SessionFactory, product_id: int) -> None:
    async with sessions() as session, session.begin():
        await session.execute(
            update(Product).where(Product.id == product_id).values(status=ProductStatus.ARCHIVED)
        )


async def test_pages_come_in_id_order_with_the_categorys_count(
    session_factory: SessionFactory,
) -> None:
    stocked = await stock_shop(session_factory, "Views", TITLES)
    browse = Browse(session_factory)

    first = await browse.category_page(stocked.category_id, 0, 8)
    last = await browse.category_page(stocked.category_id, 1, 8)

    assert [item.title for item in first.items] == TITLES[:8]
    assert [item.title for item in last.items] == TITLES[8:]
    assert first.total == last.total == 11
    assert [(c.title, c.products) for c in await browse.categories()] == [("Views", 11)]


async def test_an_archived_product_leaves_the_pages_at_once_and_the_counts_within_the_ttl(
    session_factory: SessionFactory,
) -> None:
    stocked = await stock_shop(session_factory, "Views", TITLES)
    now = [100.0]
    counts = CategoryCounts(session_factory, ttl_s=1.0, clock=lambda: now[0])
    browse = Browse(session_factory, counts)
    await browse.categories()

    await _archive(session_factory, stocked.product_ids[0])
    now[0] += 0.9
    soon = await browse.category_page(stocked.category_id, 0, 8)
    now[0] += 0.2
    later = await browse.category_page(stocked.category_id, 0, 8)

    assert TITLES[0] not in [item.title for item in soon.items]
    assert soon.total == 11  # the shared count, at most a second old
    assert later.total == 10


async def test_without_a_ttl_counts_are_exact(session_factory: SessionFactory) -> None:
    stocked = await stock_shop(session_factory, "Views", TITLES)
    browse = Browse(session_factory)
    await browse.categories()

    await _archive(session_factory, stocked.product_ids[0])

    assert [(c.title, c.products) for c in await browse.categories()] == [("Views", 10)]


async def test_a_burst_of_taps_recounts_once(
    session_factory: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    stocked = await stock_shop(session_factory, "Views", TITLES)
    recounts = 0
    count = CatalogRepository.categories_with_products

    async def counting(self: CatalogRepository) -> list[tuple[int, str, int]]:
        nonlocal recounts
        recounts += 1
        return await count(self)

    monkeypatch.setattr(CatalogRepository, "categories_with_products", counting)
    browse = Browse(session_factory, CategoryCounts(session_factory, ttl_s=60.0))

    pages = await asyncio.gather(
        *(browse.category_page(stocked.category_id, 0, 8) for _ in range(20))
    )

    assert recounts == 1
    assert {page.total for page in pages} == {11}
