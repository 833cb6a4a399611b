"""Text that shoppers, admins and import files supply, in the bot's HTML messages: shown
escaped, cut to what Telegram takes, refused at input with the reason. The real bot and
worker on real Postgres and NATS; the fake Bot API refuses what Telegram refuses (markup it
cannot parse, a caption over 1024 or a text over 4096 visible characters), so a hole shows
as a screen that never arrives and a ``<method>:refused`` call. (A shopper's card of a
2000-character description and a search for markup: ``test_money_faults``.)"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import update

from devstack.nats import NatsServer
from devstack.postgres import EmbeddedPostgres
from tests.fakes.telegram_api import RecordedCall, visible_chars
from tests.import_files import (
    CSV_MIME,
    ZIP_MIME,
    SessionFactory,
    csv_file,
    newest_batch,
    open_import_screen,
    products_titled,
    send_file,
    summed_up_batch,
    zip_file,
)
from tests.pipeline import jpeg_bytes, wait_until
from tests.services import nats_settings
from tests.storefront import Shop, Stocked, click, running_shop, screen, stock_shop, text_of, told
from vitrina_common.db.models import Product, ProductStatus
from vitrina_common.messaging.connection import connect_nats
from vitrina_common.storage.objects import ImageStore

pytestmark = [pytest.mark.postgres, pytest.mark.nats, pytest.mark.slow]

ADMIN = 6900
_shoppers = itertools.count(6001)
CATEGORY = "Landscapes"
# Older than any check at input: 2000 characters, markup and ampersands in the middle.
LONG_DESCRIPTION = ("<b>Dusk</b> & dawn over the bay. " * 70)[:2000]
MARKUP_TITLE = "<b>bold</b> & co poster"
IMPORT_HEADER = ("title", "description", "price", "category", "file")


async def stock(sessions: SessionFactory) -> Stocked:
    stocked = await stock_shop(sessions, CATEGORY, ["Long story", MARKUP_TITLE])
    async with sessions() as session, session.begin():
        long_story = update(Product).where(Product.id == stocked.product_ids[0])
        await session.execute(long_story.values(description=LONG_DESCRIPTION))
    return stocked


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def user_text_shop(
    postgres: EmbeddedPostgres,
    migrated_template: str,
    nats_server: NatsServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Shop]:
    async with running_shop(
        postgres, migrated_template, nats_server, tmp_path_factory.mktemp("user-text"),
        admin_ids=[ADMIN], stock=stock, with_worker=True,
    ) as running:  # fmt: skip
        yield running


def refused(shop: Shop, chat_id: int, since: int) -> list[RecordedCall]:
    """Calls in ``chat_id`` the fake Bot API refused (as Telegram would have), from the
    ``since``-th call on (each test's own: the admin's chat is shared)."""
    return [
        call
        for call in shop.telegram.calls[since:]
        if call.method.endswith(":refused") and call.params.get("chat_id") == chat_id
    ]


async def open_in_catalog(shop: Shop, user: int, title: str) -> dict[str, Any]:
    """/start → Catalog → the category → the product ``title``; its card."""
    shop.telegram.push_message(user, "/start")
    menu = await screen(shop.telegram, user, "Welcome to")
    categories = await click(shop.telegram, user, menu, "Catalog", "Choose a category")
    products = await click(shop.telegram, user, categories, CATEGORY, "page 1 of 1")
    return await click(shop.telegram, user, products, title, "Price: ")


async def test_the_admins_card_of_a_2000_character_description_fits_one_caption(
    user_text_shop: Shop,
) -> None:
    shop = user_text_shop
    since = len(shop.telegram.calls)
    shop.telegram.push_message(ADMIN, "/admin")
    menu = await screen(shop.telegram, ADMIN, "Shop admin")
    listing = await click(shop.telegram, ADMIN, menu, "Products", "Products</b>")

    card = await click(shop.telegram, ADMIN, listing, "Long story", "Category: ")

    caption = text_of(card)
    assert visible_chars(caption) <= 1024
    assert "&lt;b&gt;Dusk&lt;/b&gt; &amp; dawn" in caption
    assert refused(shop, ADMIN, since) == []


async def test_an_email_with_markup_is_shown_escaped_on_the_profile(user_text_shop: Shop) -> None:
    shop, user = user_text_shop, next(_shoppers)
    since = len(shop.telegram.calls)
    shop.telegram.push_message(user, "/start")
    menu = await screen(shop.telegram, user, "Welcome to")
    profile = await click(shop.telegram, user, menu, "Profile", "Email: not set")
    await click(shop.telegram, user, profile, "Set email", "Send your email address")

    shop.telegram.push_message(user, "<b>&co@example.com")

    await screen(shop.telegram, user, "Email: &lt;b&gt;&amp;co@example.com")
    assert refused(shop, user, since) == []


async def test_an_upload_caption_with_a_too_long_description_is_refused_with_the_reason(
    user_text_shop: Shop,
) -> None:
    shop = user_text_shop
    since = len(shop.telegram.calls)
    caption = "Tall tale | 70 | Landscapes\n" + "A very long story. " * 50

    shop.telegram.push_document(ADMIN, jpeg_bytes(6901), caption)

    refusal = await told(shop.telegram, ADMIN, "Not added:")
    assert refusal.startswith("Not added: the description must be at most 800 characters.")
    assert await products_titled(shop.sessions, ["Tall tale"]) == []
    assert refused(shop, ADMIN, since) == []


async def test_refund_usage_names_its_argument_in_brackets_telegram_accepts(
    user_text_shop: Shop,
) -> None:
    shop = user_text_shop
    since = len(shop.telegram.calls)

    shop.telegram.push_message(ADMIN, "/refund")

    usage = await told(shop.telegram, ADMIN, "Usage: /refund")
    assert usage == "Usage: /refund &lt;purchase id&gt;"
    assert refused(shop, ADMIN, since) == []


async def _import(shop: Shop, rows: list[tuple[object, ...]], images: dict[str, bytes]) -> int:
    """Send a UTF-8 CSV and a ZIP on the import screen; the import's id once summed up."""
    latest = await newest_batch(shop.sessions)
    await open_import_screen(shop.telegram, ADMIN)
    send_file(shop.telegram, ADMIN, zip_file(images), "images.zip", ZIP_MIME)
    data = csv_file(rows, header=IMPORT_HEADER, delimiter=",", encoding="utf-8")
    send_file(shop.telegram, ADMIN, data, "products.csv", CSV_MIME)
    batch = await summed_up_batch(shop.sessions, latest.id if latest is not None else 0)
    return batch.id


async def _failed_rows(shop: Shop, batch_id: int) -> dict[str, str]:
    """Row number → reason, from the failed-rows CSV the admin was sent."""
    name = f"import-{batch_id}-failed-rows.csv"

    async def sent() -> bool:
        documents = shop.telegram.calls_of("sendDocument")
        return any(call.params.get("document") == {"upload": name} for call in documents)

    await wait_until(sent, timeout_s=30)
    client = await connect_nats(nats_settings(shop.nats_url), name="test-user-text")
    try:
        data = await ImageStore(client.jetstream()).get_artifact(name)
    finally:
        await client.close()
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    return {row[0]: row[1] for row in rows[1:]}


async def test_a_csv_row_with_a_too_long_description_fails_with_the_reason(
    user_text_shop: Shop,
) -> None:
    since = len(user_text_shop.telegram.calls)
    rows: list[tuple[object, ...]] = [
        ("Endless", "word " * 400, 10, CATEGORY, "endless.jpg"),
        ("Endless title " * 10, "", 10, CATEGORY, "endless.jpg"),
    ]

    batch_id = await _import(user_text_shop, rows, {"endless.jpg": jpeg_bytes(6902)})

    assert await _failed_rows(user_text_shop, batch_id) == {
        "2": "description is longer than 800 characters",
        "3": "title is longer than 128 characters",
    }
    assert refused(user_text_shop, ADMIN, since) == []


async def test_markup_in_an_imported_title_and_description_is_shown_escaped(
    user_text_shop: Shop,
) -> None:
    shop, user = user_text_shop, next(_shoppers)
    since = len(shop.telegram.calls)
    title = "<i>Night</i> & day"
    rows: list[tuple[object, ...]] = [(title, "<i>quiet</i> & calm", 20, CATEGORY, "night.jpg")]
    await _import(shop, rows, {"night.jpg": jpeg_bytes(6903)})

    async def on_sale() -> bool:
        products = await products_titled(shop.sessions, [title])
        return [p.status for p in products] == [ProductStatus.READY]

    await wait_until(on_sale, timeout_s=60)
    card = await open_in_catalog(shop, user, title)

    assert text_of(card) == (
        "<b>&lt;i&gt;Night&lt;/i&gt; &amp; day</b>\n\n&lt;i&gt;quiet&lt;/i&gt; &amp; calm"
        "\n\nPrice: 20 ⭐"
    )
    assert refused(shop, user, since) == []
    assert refused(shop, ADMIN, since) == []


async def test_a_csv_header_of_thousands_of_characters_is_refused_in_one_message(
    user_text_shop: Shop,
) -> None:
    shop = user_text_shop
    since = len(shop.telegram.calls)
    await open_import_screen(shop.telegram, ADMIN)

    send_file(shop.telegram, ADMIN, b"x" * 6000 + b"\r\n1\r\n", "wide.csv", CSV_MIME)

    refusal = await told(shop.telegram, ADMIN, "Not taken: unknown column set")
    assert visible_chars(refusal, None) <= 4096
    assert refusal.endswith("….")
    assert refused(shop, ADMIN, since) == []
