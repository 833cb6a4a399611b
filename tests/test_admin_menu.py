"""/admin opens the admin menu for shop admins only; to everyone else it does not exist."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from devstack.nats import NatsServer
from devstack.postgres import EmbeddedPostgres
from tests.storefront import Shop, click, press, running_shop, screen, stock_shop, text_of

pytestmark = [pytest.mark.postgres, pytest.mark.nats, pytest.mark.slow]

ADMIN = 901
_shoppers = itertools.count(2000)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def shop(
    postgres: EmbeddedPostgres,
    migrated_template: str,
    nats_server: NatsServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Shop]:
    async with running_shop(
        postgres, migrated_template, nats_server, tmp_path_factory.mktemp("admin-menu"),
        admin_ids=[ADMIN],
        stock=lambda sessions: stock_shop(sessions, "Admin menu", ["One"]),
    ) as running:  # fmt: skip
        yield running


async def test_admin_gets_the_admin_menu_with_every_area(shop: Shop) -> None:
    shop.telegram.push_message(ADMIN, "/admin")

    menu = await screen(shop.telegram, ADMIN, "Shop admin")

    for area in ("Products", "Categories", "Bulk import", "Users", "Sales & exports"):
        assert shop.telegram.button(menu, area)


async def test_admin_command_from_a_shopper_shows_the_shop_menu(shop: Shop) -> None:
    user = next(_shoppers)
    shop.telegram.push_message(user, "/start")
    await screen(shop.telegram, user, "Welcome to")

    shop.telegram.push_message(user, "/admin")
    await asyncio.sleep(1)

    assert "Shop admin" not in text_of(await screen(shop.telegram, user, "Welcome to"))


async def test_admin_button_forged_by_a_shopper_opens_nothing(shop: Shop) -> None:
    shown = len(shop.telegram.messages_to(ADMIN))
    shop.telegram.push_message(ADMIN, "/admin")
    async with asyncio.timeout(15):
        while len(shop.telegram.messages_to(ADMIN)) == shown:  # noqa: ASYNC110  (another process)
            await asyncio.sleep(0.05)
    admin_menu = await screen(shop.telegram, ADMIN, "Shop admin")
    products_button = shop.telegram.button(admin_menu, "Products")
    user = next(_shoppers)
    shop.telegram.push_message(user, "/start")
    shopper_menu = await screen(shop.telegram, user, "Welcome to")

    # The admin's real callback data, replayed from the shopper's chat.
    press(shop.telegram, user, shopper_menu, products_button)
    await asyncio.sleep(1)

    assert all("Shop admin" not in text_of(m) for m in shop.telegram.messages_to(user))
    assert all("🖼 Products" not in text_of(m) for m in shop.telegram.messages_to(user))
    # ...while the admin's own press of the same button still works.
    await click(shop.telegram, ADMIN, admin_menu, "Products", "🖼 Products")
