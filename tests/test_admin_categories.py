"""The admin's category screens end to end (real bot, fake Bot API, real Postgres and NATS):
shop order, create and rename with unique titles, moves the shopper sees, delete only when
empty (confirmed by a button: no confirmation code configured here), shoppers shut out."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import func, select

from devstack.nats import NatsServer
from devstack.postgres import EmbeddedPostgres
from tests.admin_catalog_helpers import (
    SessionFactory,
    admin_area,
    alerts,
    buttons,
    said_to,
    send,
    stock_catalog,
    wait_alert,
    wait_said,
)
from tests.storefront import Shop, Stocked, click, press, running_shop, text_of
from vitrina_common.db.models import Category, ProductStatus

pytestmark = [pytest.mark.postgres, pytest.mark.nats, pytest.mark.slow]

ADMIN = 3900
BUYER = 3002
_shoppers = itertools.count(3200)
READY = ProductStatus.READY
CATALOG = [
    ("Seas", "Wave", READY, False),
    ("Hills", "Slope", READY, False),
    ("Hills", "Peak", READY, False),
    ("Forests", "Pine", READY, False),
]
LISTING = "Categories</b> in the shop's order"


async def _stock(sessions: SessionFactory) -> Stocked:
    return Stocked(0, await stock_catalog(sessions, CATALOG, BUYER))


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def shop(
    postgres: EmbeddedPostgres,
    migrated_template: str,
    nats_server: NatsServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Shop]:
    async with running_shop(
        postgres, migrated_template, nats_server, tmp_path_factory.mktemp("admin-categories"),
        admin_ids=[ADMIN], stock=_stock,
    ) as running:  # fmt: skip
        yield running


async def _category_screen(shop: Shop, title: str) -> dict[str, Any]:
    listing = await admin_area(shop.telegram, ADMIN, "Categories", LISTING)
    return await click(shop.telegram, ADMIN, listing, f". {title}", f"<b>{title}</b>")


async def _shopper_categories(shop: Shop) -> list[str]:
    user = next(_shoppers)
    menu = await send(shop.telegram, user, "/start", "Welcome to")
    categories = await click(shop.telegram, user, menu, "Catalog", "Choose a category")
    return [label.split(" · ")[0] for label in buttons(categories) if " · " in label]


async def _titles(shop: Shop, title: str) -> int:
    async with shop.sessions() as session:
        count = await session.scalar(
            select(func.count()).select_from(Category).where(Category.title == title)
        )
    return int(count or 0)


async def test_categories_are_listed_in_shop_order_with_their_product_counts(
    shop: Shop,
) -> None:
    listing = await admin_area(shop.telegram, ADMIN, "Categories", LISTING)

    text = text_of(listing)
    assert text.index("1. Seas — 1 product") < text.index("2. Hills — 2 products")
    assert [label for label in buttons(listing) if ". " in label][:2] == ["1. Seas", "2. Hills"]


async def test_created_category_comes_last_and_a_taken_title_is_refused(shop: Shop) -> None:
    listing = await admin_area(shop.telegram, ADMIN, "Categories", LISTING)
    await click(shop.telegram, ADMIN, listing, "New category", "new category's title")

    card = await send(shop.telegram, ADMIN, "Birds", "<b>Birds</b>")
    assert "Place 4 of 4 in the shop · 0 products" in text_of(card)

    listing = await admin_area(shop.telegram, ADMIN, "Categories", LISTING)
    await click(shop.telegram, ADMIN, listing, "New category", "new category's title")
    await send(shop.telegram, ADMIN, "Birds", "new category's title")
    await wait_said(shop.telegram, ADMIN, "Not saved: a category «Birds» already exists.")
    assert await _titles(shop, "Birds") == 1


async def test_rename_refuses_a_taken_title_and_the_shopper_sees_the_new_one(
    shop: Shop,
) -> None:
    card = await _category_screen(shop, "Forests")
    await click(shop.telegram, ADMIN, card, "Rename", "new title for «Forests»")

    await send(shop.telegram, ADMIN, "Seas", "new title for «Forests»")
    await wait_said(shop.telegram, ADMIN, "Not saved: a category «Seas» already exists.")
    renamed = await send(shop.telegram, ADMIN, "Woods", "<b>Woods</b>")

    assert "1 product" in text_of(renamed)
    assert (await _titles(shop, "Forests"), await _titles(shop, "Seas")) == (0, 1)
    assert "Woods" in await _shopper_categories(shop)


async def test_moving_a_category_up_changes_the_shoppers_order(shop: Shop) -> None:
    assert (await _shopper_categories(shop))[:2] == ["Seas", "Hills"]
    card = await _category_screen(shop, "Hills")

    moved = await click(shop.telegram, ADMIN, card, "Move up", "Place 1 of")

    assert (await _shopper_categories(shop))[:2] == ["Hills", "Seas"]
    before = len(alerts(shop.telegram))
    press(shop.telegram, ADMIN, moved, shop.telegram.button(moved, "Move up"))
    await wait_alert(shop.telegram, "It is first already.", before)
    listing = await admin_area(shop.telegram, ADMIN, "Categories", LISTING)
    assert "1. Hills — 2 products" in text_of(listing)


async def test_a_category_with_products_is_not_deleted(shop: Shop) -> None:
    card = await _category_screen(shop, "Hills")
    before = len(alerts(shop.telegram))

    press(shop.telegram, ADMIN, card, shop.telegram.button(card, "Delete"))

    reason = await wait_alert(shop.telegram, "Cannot delete", before)
    assert reason.startswith("Cannot delete: the category holds 2 products.")
    assert await _titles(shop, "Hills") == 1


async def test_an_empty_category_is_deleted_after_confirming(shop: Shop) -> None:
    listing = await admin_area(shop.telegram, ADMIN, "Categories", LISTING)
    await click(shop.telegram, ADMIN, listing, "New category", "new category's title")
    card = await send(shop.telegram, ADMIN, "Short-lived", "<b>Short-lived</b>")
    confirm = await click(shop.telegram, ADMIN, card, "Delete", "Delete the empty category")
    before = len(alerts(shop.telegram))

    await click(shop.telegram, ADMIN, confirm, "Yes, delete", LISTING)

    await wait_alert(shop.telegram, "Category «Short-lived» deleted.", before)
    assert await _titles(shop, "Short-lived") == 0
    assert not any(
        "Short-lived" in label for label in buttons(shop.telegram.last_message_to(ADMIN))
    )


async def test_category_buttons_pressed_by_a_shopper_change_nothing(shop: Shop) -> None:
    card = await _category_screen(shop, "Seas")
    intent = shop.telegram.button(card, "Delete").split("\x1d")[0]
    replayed = [shop.telegram.button(card, label) for label in ("Move up", "Move down", "Delete")]
    crafted = [f"{intent}\x1dconfirm", f"{intent}\x1dcategory:1", "down", "\x1dup"]
    listing = await admin_area(shop.telegram, ADMIN, "Categories", LISTING)
    order_before = text_of(listing)
    user = next(_shoppers)
    menu = await send(shop.telegram, user, "/start", "Welcome to")
    answered = len(alerts(shop.telegram))

    for data in replayed + crafted:
        press(shop.telegram, user, menu, data)
    await asyncio.sleep(2)

    assert await _titles(shop, "Seas") == 1
    listing = await admin_area(shop.telegram, ADMIN, "Categories", LISTING)
    assert text_of(listing) == order_before
    seen = [text_of(message) for message in shop.telegram.messages_to(user)]
    assert not any("Place " in text or LISTING in text for text in seen)
    assert all(
        text in ("", "This menu is out of date; here is a fresh one.")
        for text in alerts(shop.telegram)[answered:]
    )
    assert not any("Cannot delete" in text for text in said_to(shop.telegram, user))
