"""The admin's product screens end to end: the real bot and worker, a fake Bot API, real
Postgres and NATS. Edits reach shoppers, archived products leave the shop but not their
buyers, sold products are never deleted, a re-render renders again, the confirmation code
guards deleting, and none of it exists for a shopper."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from devstack.nats import NatsServer
from devstack.postgres import EmbeddedPostgres
from tests.admin_catalog_helpers import (
    SessionFactory,
    admin_area,
    admin_card,
    alerts,
    buttons,
    product,
    product_id,
    said_to,
    send,
    shopper_category,
    stock_catalog,
    wait_alert,
    wait_said,
)
from tests.pipeline import jpeg_bytes, wait_until
from tests.storefront import Shop, Stocked, click, press, running_shop, screen, text_of
from vitrina_common.db.models import ProductStatus
from vitrina_common.services.admin_products import AdminProducts

pytestmark = [pytest.mark.postgres, pytest.mark.nats, pytest.mark.slow]

ADMIN = 3900
BUYER = 3001
CODE = "sesame-42"
_shoppers = itertools.count(3100)
READY, FAILED, ARCHIVED = ProductStatus.READY, ProductStatus.FAILED, ProductStatus.ARCHIVED
CATALOG = [
    ("Landscapes", "Dune", READY, False),
    ("Landscapes", "Sold print", READY, True),
    ("Landscapes", "Archived print", READY, True),
    ("Landscapes", "Unsold", READY, False),
    ("Landscapes", "Guarded", READY, False),
    ("Landscapes", "Bad input", READY, False),
    ("Waters", "Lake", READY, False),
    ("Waters", "Pond", READY, False),
    ("Landscapes", "Broken", FAILED, False),
    ("Landscapes", "Retired", ARCHIVED, False),
]


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
        postgres, migrated_template, nats_server, tmp_path_factory.mktemp("admin-products"),
        admin_ids=[ADMIN], stock=_stock, with_worker=True,
        extra_env={"APP_CONF__BOT__ADMIN_CONFIRM_CODE": CODE},
    ) as running:  # fmt: skip
        yield running


async def test_products_screen_lists_every_status_and_says_how_to_add(shop: Shop) -> None:
    listing = await admin_area(shop.telegram, ADMIN, "Products", "🖼 Products</b>")

    assert "<code>Title | price | Category</code>" in text_of(listing)
    labels = buttons(listing)
    for title, icon in (("Retired", "📦"), ("Broken", "⚠️"), ("Pond", "✅")):
        pid = await product_id(shop, title)
        assert any(label.startswith(f"{icon} #{pid} {title}") for label in labels), labels
    failed = await click(shop.telegram, ADMIN, listing, "Status", "which status")
    only_failed = await click(shop.telegram, ADMIN, failed, "failed", "Showing: ⚠️ failed")
    assert [label for label in buttons(only_failed) if "#" in label] == [
        f"⚠️ #{await product_id(shop, 'Broken')} Broken · 50 ⭐"
    ]


async def test_price_set_by_the_admin_is_what_a_shopper_then_sees(shop: Shop) -> None:
    dune = await product_id(shop, "Dune")
    card = await admin_card(shop.telegram, ADMIN, dune)
    await click(shop.telegram, ADMIN, card, "Price", "Send the new price")

    card = await send(shop.telegram, ADMIN, "75", "Price: 75 ⭐")

    assert f"#{dune} Dune" in text_of(card)
    user = next(_shoppers)
    products = await shopper_category(shop.telegram, user, "Landscapes")
    shopper_card = await click(shop.telegram, user, products, "Dune · 75 ⭐", "Price: 75 ⭐")
    assert "Buy for 75 ⭐" in buttons(shopper_card)


async def test_bad_price_and_title_are_answered_with_the_reason(shop: Shop) -> None:
    pid = await product_id(shop, "Bad input")
    card = await admin_card(shop.telegram, ADMIN, pid)
    await click(shop.telegram, ADMIN, card, "Price", "Send the new price")
    for bad in ("abc", "0", "1000000"):
        await send(shop.telegram, ADMIN, bad, "Send the new price")
    await click(shop.telegram, ADMIN, shop.telegram.last_message_to(ADMIN), "Back", "Sold:")
    card = shop.telegram.last_message_to(ADMIN)
    await click(shop.telegram, ADMIN, card, "Title", "Send the new title")
    await send(shop.telegram, ADMIN, "x" * 129, "Send the new title")

    price_rule = "the price must be a whole number of Stars from 1 to 100000"
    assert sum(price_rule in text for text in said_to(shop.telegram, ADMIN)) == 3
    await wait_said(shop.telegram, ADMIN, "the title must be 1 to 128 characters")
    stored = await product(shop, pid)
    assert stored is not None
    assert (stored.title, stored.price_stars) == ("Bad input", 50)


async def test_archived_product_leaves_the_shop_and_restore_brings_it_back(shop: Shop) -> None:
    lake = await product_id(shop, "Lake")
    card = await admin_card(shop.telegram, ADMIN, lake)
    before = len(alerts(shop.telegram))

    archived = await click(shop.telegram, ADMIN, card, "Archive", "📦 archived")
    await wait_alert(shop.telegram, "Its buyers keep their downloads", before)

    user = next(_shoppers)
    waters = await shopper_category(shop.telegram, user, "Waters")
    assert "1 image ·" in text_of(waters)
    assert [label for label in buttons(waters) if "⭐" in label] == ["Pond · 50 ⭐"]
    await click(shop.telegram, ADMIN, archived, "Restore", "✅ on sale")
    waters = await shopper_category(shop.telegram, user, "Waters")
    assert "2 images ·" in text_of(waters)
    assert "Lake · 50 ⭐" in buttons(waters)


async def test_buyer_of_an_archived_product_still_downloads_it(shop: Shop) -> None:
    pid = await product_id(shop, "Archived print")
    card = await admin_card(shop.telegram, ADMIN, pid)
    await click(shop.telegram, ADMIN, card, "Archive", "📦 archived")
    stored = await product(shop, pid)
    assert stored is not None
    assert stored.status is ProductStatus.ARCHIVED

    menu = await send(shop.telegram, BUYER, "/start", "Welcome to")
    purchases = await click(shop.telegram, BUYER, menu, "My purchases", "You own 2 images")
    press(shop.telegram, BUYER, purchases, shop.telegram.button(purchases, "Archived print"))

    await shop.telegram.wait_for_call("sendDocument")
    sent = [
        c.params for c in shop.telegram.calls_of("sendDocument") if c.params["chat_id"] == BUYER
    ]
    assert [params["document"] for params in sent] == [stored.original_file_id]


async def test_deleting_a_sold_product_is_refused_with_the_reason(shop: Shop) -> None:
    pid = await product_id(shop, "Sold print")
    card = await admin_card(shop.telegram, ADMIN, pid)
    before = len(alerts(shop.telegram))

    press(shop.telegram, ADMIN, card, shop.telegram.button(card, "Delete"))

    reason = await wait_alert(shop.telegram, "Cannot delete", before)
    assert reason == (
        f"Cannot delete #{pid}: it has 1 purchase and 1 order. Archive it instead: "
        "it leaves the shop and buyers keep their downloads."
    )
    stored = await product(shop, pid)
    assert stored is not None
    assert stored.status is ProductStatus.READY
    assert "Sold: 1" in text_of(shop.telegram.last_message_to(ADMIN))  # still on the card


async def test_delete_asks_for_the_code_and_only_the_right_one_deletes(shop: Shop) -> None:
    pid = await product_id(shop, "Unsold")
    card = await admin_card(shop.telegram, ADMIN, pid)
    confirm = await click(shop.telegram, ADMIN, card, "Delete", "Type the confirmation code")
    assert not any("Yes, delete" in label for label in buttons(confirm))
    # A confirm press crafted on this very screen cannot skip the code.
    intent = shop.telegram.button(confirm, "Back").split("\x1d")[0]
    before = len(alerts(shop.telegram))
    press(shop.telegram, ADMIN, confirm, f"{intent}\x1dconfirm")
    await wait_alert(shop.telegram, "Type the confirmation code", before)

    await send(shop.telegram, ADMIN, "open-sesame", "Type the confirmation code")
    await wait_said(shop.telegram, ADMIN, "Wrong code: nothing was deleted.")
    assert await product(shop, pid) is not None

    await send(shop.telegram, ADMIN, CODE, "🖼 Products</b>")
    await wait_said(shop.telegram, ADMIN, f"Product #{pid} deleted.")
    assert await product(shop, pid) is None
    # Both typed codes were removed from the chat.
    assert len(shop.telegram.calls_of("deleteMessage")) >= 2


async def test_rerender_renders_the_preview_again_and_uploads_it(shop: Shop) -> None:
    shop.telegram.push_document(ADMIN, jpeg_bytes(31, (800, 600)), "Reborn | 40 | Renders")
    await wait_until(lambda: _preview_cached(shop, "Reborn"), timeout_s=60)
    pid = await product_id(shop, "Reborn")
    first = await product(shop, pid)
    assert first is not None
    photos = len(shop.telegram.calls_of("sendPhoto"))
    card = await admin_card(shop.telegram, ADMIN, pid)
    before = len(alerts(shop.telegram))

    press(shop.telegram, ADMIN, card, shop.telegram.button(card, "Re-render"))

    await wait_alert(shop.telegram, "rendered again", before)
    await shop.telegram.wait_for_call("sendPhoto", count=photos + 1, timeout_s=60)
    await wait_until(lambda: _preview_cached(shop, "Reborn"), timeout_s=30)
    again = await product(shop, pid)
    assert again is not None
    assert again.status is ProductStatus.READY
    assert again.preview_file_id not in (None, first.preview_file_id)
    assert shop.telegram.calls_of("sendPhoto")[-1].params["chat_id"] == ADMIN


async def _preview_cached(shop: Shop, title: str) -> bool:
    page = await AdminProducts(shop.sessions).page(0, 5, search=title)
    if not page.items:
        return False
    stored = await product(shop, page.items[0].id)
    return stored is not None and stored.status is READY and stored.preview_file_id is not None


async def test_admin_product_buttons_pressed_by_a_shopper_change_nothing(shop: Shop) -> None:
    pid = await product_id(shop, "Guarded")
    card = await admin_card(shop.telegram, ADMIN, pid)
    intent = shop.telegram.button(card, "Archive").split("\x1d")[0]
    replayed = [shop.telegram.button(card, label) for label in ("Archive", "Delete", "Re-render")]
    crafted = [f"{intent}\x1dconfirm", "archive", "x\x1ddelete", f"{intent}\x1dprice"]
    user = next(_shoppers)
    menu = await send(shop.telegram, user, "/start", "Welcome to")
    before = len(alerts(shop.telegram))

    for data in replayed + crafted:
        press(shop.telegram, user, menu, data)
    await asyncio.sleep(2)

    stored = await product(shop, pid)
    assert stored is not None
    assert (stored.status, stored.price_stars) == (ProductStatus.READY, 50)
    seen = [text_of(message) for message in shop.telegram.messages_to(user)]
    assert not any("Sold:" in text or "🖼 Products</b>" in text for text in seen)
    assert "Welcome to" in text_of(await screen(shop.telegram, user, "Welcome to"))
    answers = alerts(shop.telegram)[before:]
    assert answers
    assert all(text in ("", "This menu is out of date; here is a fresh one.") for text in answers)
