"""Wishlists and the waitlist's reminders, on a real Postgres: ♡ toggles a wish, the list
pages newest first, a price drop and a return to sale are told to each wisher once, and a
reserved copy's shopper is reminded a day and an hour before the reservation runs out."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tests.test_checkout import Shop
from tests.waitlist_shop import HOLD, WaitlistShop
from vitrina_common.db.models import Notification, Product, ProductStatus, User
from vitrina_common.services.admin_products import AdminProducts
from vitrina_common.services.admin_products_lifecycle import ProductLifecycle
from vitrina_common.services.wishlist import Wishlist

pytestmark = pytest.mark.postgres

SessionFactory = async_sessionmaker[AsyncSession]
WISHER, OTHER = 201, 202


async def notices(sessions: SessionFactory, template: str) -> list[Notification]:
    async with sessions() as session:
        rows = await session.scalars(
            select(Notification).where(Notification.template == template).order_by(Notification.id)
        )
        return list(rows)


async def test_a_wish_toggles_and_the_list_pages_newest_first(
    session_factory: SessionFactory,
) -> None:
    shop, wishlist = Shop(session_factory), Wishlist(session_factory)
    await shop.shopper(WISHER)
    first, second = await shop.product(title="Dawn"), await shop.product(title="Dusk")
    archived = await shop.product(title="Gone", status=ProductStatus.ARCHIVED)

    assert await wishlist.toggle(WISHER, first) is True
    assert await wishlist.toggle(WISHER, second) is True
    assert await wishlist.toggle(WISHER, archived) is None
    assert await wishlist.toggle(WISHER, 10**9) is None
    assert await wishlist.toggle(OTHER, first) is None
    page = await wishlist.page(WISHER, 0, 1)
    assert ([item.title for item in page.items], page.total) == (["Dusk"], 2)
    assert await wishlist.toggle(WISHER, second) is False
    assert not await wishlist.contains(WISHER, second)
    assert await wishlist.contains(WISHER, first)


async def test_a_price_drop_is_told_once_per_new_price_and_a_rise_not_at_all(
    session_factory: SessionFactory,
) -> None:
    shop, wishlist = Shop(session_factory), Wishlist(session_factory)
    admin = AdminProducts(session_factory)
    await shop.shopper(WISHER)
    await shop.shopper(OTHER)
    product = await shop.product(price=100)
    await wishlist.toggle(WISHER, product)

    await admin.reprice(product, "80")
    await admin.rename(product, "Sunset, renamed")
    await admin.reprice(product, "120")
    await admin.reprice(product, "80")
    await admin.reprice(product, "60")

    told = await notices(session_factory, "notifications.wishlist.price_drop")
    assert [(n.params["old"], n.params["price"], n.urgent) for n in told] == [
        (100, 80, False),
        (80, 60, False),
    ]


async def test_a_price_drop_costs_the_same_statements_for_forty_wishers_as_for_one(
    session_factory: SessionFactory, engine: AsyncEngine
) -> None:
    """The notices are written in the admin's edit transaction: a loop of two round trips
    per wisher would hold it open for seconds on a popular product."""
    shop, wishlist = Shop(session_factory), Wishlist(session_factory)
    admin = AdminProducts(session_factory)
    wishers = range(300, 340)
    for telegram_id in wishers:
        await shop.shopper(telegram_id)
    alone, popular = await shop.product(price=100), await shop.product(price=100)
    await wishlist.toggle(wishers[0], alone)
    for telegram_id in wishers:
        await wishlist.toggle(telegram_id, popular)
    async with session_factory() as session, session.begin():
        await session.execute(
            update(User).where(User.telegram_id == wishers[-1]).values(is_banned=True)
        )

    async def statements_of_a_drop(product: int) -> int:
        statements: list[str] = []

        def remember(*args: Any) -> None:
            statements.append(args[2])

        event.listen(engine.sync_engine, "before_cursor_execute", remember)
        try:
            await admin.reprice(product, "80")
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", remember)
        return len(statements)

    assert await statements_of_a_drop(popular) == await statements_of_a_drop(alone)
    told = await notices(session_factory, "notifications.wishlist.price_drop")
    # Every wisher of the popular one but the banned, and the other product's one wisher.
    assert len(told) == (len(wishers) - 1) + 1
    assert len({n.dedup_key for n in told}) == len(told)


async def test_a_return_to_sale_is_told_to_wishers(session_factory: SessionFactory) -> None:
    shop, wishlist = Shop(session_factory), Wishlist(session_factory)
    lifecycle = ProductLifecycle(session_factory)
    await shop.shopper(WISHER)
    product = await shop.product()
    # Restored with a preview, the product is on sale again (without one it is re-rendered).
    await shop.change(Product, product, preview_key="preview-key")
    await wishlist.toggle(WISHER, product)
    await lifecycle.archive(product)

    assert await lifecycle.restore(product) is None

    told = await notices(session_factory, "notifications.wishlist.back_on_sale")
    assert [n.params["title"] for n in told] == ["Sunset"]


async def test_the_reserved_shopper_is_reminded_a_day_and_an_hour_before_expiry(
    session_factory: SessionFactory,
) -> None:
    shop = WaitlistShop(session_factory)
    for shopper in (WISHER, OTHER):
        await shop.shopper(shopper)
    product = await shop.product(edition_size=1)
    purchase = await shop.buy(OTHER, product, "charge-other")
    await shop.waitlist.join(WISHER, product)
    await shop.refunds.confirm(purchase)
    assert len(await notices(session_factory, "notifications.waitlist.turn")) == 1

    await shop.let_time_pass(HOLD - timedelta(hours=24, minutes=1))
    assert await notices(session_factory, "notifications.waitlist.reminder_day") == []
    await shop.let_time_pass(timedelta(minutes=2))
    day = await notices(session_factory, "notifications.waitlist.reminder_day")
    await shop.let_time_pass(timedelta(hours=23))
    hour = await notices(session_factory, "notifications.waitlist.reminder_hour")

    assert [n.urgent for n in day] == [False]
    assert [n.urgent for n in hour] == [True]
    assert hour[0].buttons[0]["callback_data"].startswith("wl:buy:")
    await shop.let_time_pass(timedelta(hours=1))
    assert len(await notices(session_factory, "notifications.waitlist.expired")) == 1
