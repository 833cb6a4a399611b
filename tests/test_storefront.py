"""A shopper's way through the real bot process (polling a fake Bot API over HTTP), on real
Postgres and NATS: /start → catalog → product → Buy → pre-checkout → payment → the original,
once. Then what must not happen: double delivery, stale invoices, forged buttons."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devstack.nats import NatsServer
from devstack.postgres import EmbeddedPostgres
from tests.storefront import Shop, click, press, running_shop, screen, stock_shop, told
from vitrina_bot.wiring import CATALOG_COUNTS_TTL_S
from vitrina_common.db.models import Order, Product, Purchase

pytestmark = [pytest.mark.postgres, pytest.mark.nats, pytest.mark.slow]

ADMIN = 900
SessionFactory = async_sessionmaker[AsyncSession]
_shoppers = itertools.count(1000)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def shop(
    postgres: EmbeddedPostgres,
    migrated_template: str,
    nats_server: NatsServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Shop]:
    async with running_shop(
        postgres, migrated_template, nats_server, tmp_path_factory.mktemp("storefront"),
        admin_ids=[ADMIN],
        stock=lambda sessions: stock_shop(
            sessions, "Landscapes", [f"View {n}" for n in range(1, 12)]
        ),
    ) as running:  # fmt: skip
        yield running


async def open_first_product(shop: Shop, user: int) -> dict[str, object]:
    telegram = shop.telegram
    telegram.push_message(user, "/start")
    menu = await screen(telegram, user, "Welcome to")
    categories = await click(telegram, user, menu, "Catalog", "Choose a category")
    products = await click(telegram, user, categories, "Landscapes", "11 images · page 1 of 2")
    return await click(telegram, user, products, "View 1 ", "Price: 50 ⭐")


async def buy(shop: Shop, user: int) -> str:
    """Open the first product, press Buy; the invoice payload."""
    card = await open_first_product(shop, user)
    before = len(shop.telegram.calls_of("sendInvoice"))
    press(shop.telegram, user, card, shop.telegram.button(card, "Buy for 50"))
    await shop.telegram.wait_for_call("sendInvoice", count=before + 1)
    invoice = shop.telegram.calls_of("sendInvoice")[-1]
    assert invoice.params["chat_id"] == user
    assert invoice.params["currency"] == "XTR"
    assert invoice.params["prices"] == [{"label": "View 1", "amount": 50}]
    return str(invoice.params["payload"])


async def pre_checkout(shop: Shop, user: int, payload: str, amount: int = 50) -> dict[str, object]:
    before = len(shop.telegram.calls_of("answerPreCheckoutQuery"))
    shop.telegram.push_pre_checkout(user, payload, amount)
    await shop.telegram.wait_for_call("answerPreCheckoutQuery", count=before + 1)
    return shop.telegram.calls_of("answerPreCheckoutQuery")[-1].params


def documents_to(shop: Shop, user: int) -> list[str]:
    return [
        str(call.params["document"])
        for call in shop.telegram.calls_of("sendDocument")
        if call.params["chat_id"] == user
    ]


async def purchases_of_product(shop: Shop, product_id: int) -> int:
    async with shop.sessions() as session:
        return int(
            await session.scalar(
                select(func.count()).select_from(Purchase).where(Purchase.product_id == product_id)
            )
            or 0
        )


async def test_shopper_buys_and_receives_the_original_exactly_once(shop: Shop) -> None:
    user = next(_shoppers)
    payload = await buy(shop, user)

    assert await pre_checkout(shop, user, payload) == {
        "pre_checkout_query_id": shop.telegram.calls_of("answerPreCheckoutQuery")[-1].params[
            "pre_checkout_query_id"
        ],
        "ok": True,
    }
    shop.telegram.push_update(shop.telegram.successful_payment_update(user, payload, 50))
    await asyncio.wait_for(_documents(shop, user, 1), 20)
    await asyncio.sleep(1)

    product_id = shop.stock.product_ids[0]
    async with shop.sessions() as session:
        original = (await session.get(Product, product_id)).original_file_id  # type: ignore[union-attr]
    assert documents_to(shop, user) == [original]


async def _documents(shop: Shop, user: int, count: int) -> None:
    while len(documents_to(shop, user)) < count:  # noqa: ASYNC110  (the bot is another process)
        await asyncio.sleep(0.05)


async def test_repeated_and_concurrent_payment_updates_deliver_once(shop: Shop) -> None:
    user = next(_shoppers)
    payload = await buy(shop, user)
    await pre_checkout(shop, user, payload)
    payment = shop.telegram.successful_payment_update(user, payload, 50, charge_id=f"ch-{user}")

    for _ in range(4):  # the same payment, as Telegram might repeat it
        shop.telegram.push_update(payment)
    await asyncio.wait_for(_documents(shop, user, 1), 20)
    await asyncio.sleep(2)

    assert len(documents_to(shop, user)) == 1
    async with shop.sessions() as session:
        purchases = await session.scalar(
            select(func.count())
            .select_from(Purchase)
            .where(Purchase.telegram_payment_charge_id == f"ch-{user}")
        )
    assert purchases == 1


async def test_expired_order_is_refused_at_pre_checkout(shop: Shop) -> None:
    user = next(_shoppers)
    payload = await buy(shop, user)
    async with shop.sessions() as session, session.begin():
        order = await session.scalar(select(Order).where(Order.invoice_payload == payload))
        assert order is not None
        order.expires_at = order.created_at

    answer = await pre_checkout(shop, user, payload)

    assert answer["ok"] is False
    assert (
        answer["error_message"] == "This invoice has expired. Open the product and tap Buy again."
    )


async def test_changed_price_is_refused_at_pre_checkout(shop: Shop) -> None:
    user = next(_shoppers)
    payload = await buy(shop, user)
    product_id = shop.stock.product_ids[0]
    async with shop.sessions() as session, session.begin():
        product = await session.get(Product, product_id)
        assert product is not None
        product.price_stars = 75
    try:
        answer = await pre_checkout(shop, user, payload)
    finally:
        async with shop.sessions() as session, session.begin():
            product = await session.get(Product, product_id)
            assert product is not None
            product.price_stars = 50

    assert answer["ok"] is False
    assert "price has changed" in str(answer["error_message"])


async def test_another_users_invoice_is_refused(shop: Shop) -> None:
    owner, thief = next(_shoppers), next(_shoppers)
    payload = await buy(shop, owner)
    shop.telegram.push_message(thief, "/start")
    await screen(shop.telegram, thief, "Welcome to")

    answer = await pre_checkout(shop, thief, payload)

    assert answer["ok"] is False
    assert "not valid" in str(answer["error_message"])


async def test_forged_purchase_button_gets_not_found_and_no_file(shop: Shop) -> None:
    buyer, forger = next(_shoppers), next(_shoppers)
    payload = await buy(shop, buyer)
    await pre_checkout(shop, buyer, payload)
    shop.telegram.push_update(shop.telegram.successful_payment_update(buyer, payload, 50))
    await asyncio.wait_for(_documents(shop, buyer, 1), 20)
    async with shop.sessions() as session:
        purchase_id = await session.scalar(select(func.max(Purchase.id)))
    shop.telegram.push_message(forger, "/start")
    menu = await screen(shop.telegram, forger, "Welcome to")
    listing = await click(shop.telegram, forger, menu, "My purchases", "You own 0 images")
    # The forger rewrites a purchases button to name the buyer's purchase, then ids no
    # purchase can have: a digit int() refuses, and one beyond Postgres' bigint.
    intent = shop.telegram.button(listing, "Back").split("\x1d")[0]
    before = len(shop.telegram.calls_of("answerCallbackQuery"))
    for forged in (str(purchase_id), "²", "9" * 20):
        press(shop.telegram, forger, listing, f"{intent}\x1dpurchase:{forged}")

    def not_found() -> int:
        answers = shop.telegram.calls_of("answerCallbackQuery")[before:]
        return [call.params.get("text") for call in answers].count("Purchase not found.")

    async with asyncio.timeout(20):
        while not_found() < 3:  # noqa: ASYNC110  (the bot answers from its own process)
            await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)
    assert documents_to(shop, forger) == []


async def test_button_from_another_dialog_stack_is_refused_as_outdated(shop: Shop) -> None:
    user = next(_shoppers)
    shop.telegram.push_message(user, "/start")
    menu = await screen(shop.telegram, user, "Welcome to")
    before = len(shop.telegram.calls_of("answerCallbackQuery"))

    press(shop.telegram, user, menu, "forgedintent\x1dcatalog")
    await shop.telegram.wait_for_call("answerCallbackQuery", count=before + 1)

    answers = [c.params.get("text") for c in shop.telegram.calls_of("answerCallbackQuery")]
    assert "This menu is out of date; here is a fresh one." in answers


async def test_admin_refund_returns_the_stars_and_revokes_the_download(shop: Shop) -> None:
    buyer = next(_shoppers)
    payload = await buy(shop, buyer)
    await pre_checkout(shop, buyer, payload)
    shop.telegram.push_update(
        shop.telegram.successful_payment_update(buyer, payload, 50, charge_id=f"refund-{buyer}")
    )
    await asyncio.wait_for(_documents(shop, buyer, 1), 20)
    async with shop.sessions() as session:
        purchase = await session.scalar(
            select(Purchase).where(Purchase.telegram_payment_charge_id == f"refund-{buyer}")
        )
    assert purchase is not None
    shop.telegram.push_message(ADMIN, "/start")
    await screen(shop.telegram, ADMIN, "Welcome to")

    shop.telegram.push_message(ADMIN, f"/refund {purchase.id}")
    await shop.telegram.wait_for_call("refundStarPayment")
    await told(shop.telegram, buyer, "was refunded")

    [refund] = shop.telegram.calls_of("refundStarPayment")
    assert refund.params == {"user_id": buyer, "telegram_payment_charge_id": f"refund-{buyer}"}
    async with shop.sessions() as session:
        refunded = await session.get(Purchase, purchase.id)
    assert refunded is not None
    assert refunded.status.value == "refunded"
    menu = await _fresh_menu(shop, buyer)
    listing = await click(shop.telegram, buyer, menu, "My purchases", "You own 0 images")
    assert "⬇️" not in str(listing["reply_markup"])


async def _fresh_menu(shop: Shop, user: int) -> dict[str, object]:
    shop.telegram.push_message(user, "/start")
    await asyncio.sleep(0.3)
    return await screen(shop.telegram, user, "Welcome to")


async def test_refund_from_a_non_admin_looks_like_an_unknown_command(shop: Shop) -> None:
    user = next(_shoppers)
    shop.telegram.push_message(user, "/start")
    await screen(shop.telegram, user, "Welcome to")
    before = len(shop.telegram.calls_of("refundStarPayment"))

    shop.telegram.push_message(user, "/refund 1")
    await asyncio.sleep(1)

    assert len(shop.telegram.calls_of("refundStarPayment")) == before
    await screen(shop.telegram, user, "Welcome to")


async def test_search_finds_products_by_words_in_their_title(shop: Shop) -> None:
    user = next(_shoppers)
    menu = await _fresh_menu(shop, user)
    prompt = await click(shop.telegram, user, menu, "Search", "What are you looking for?")
    del prompt

    shop.telegram.push_message(user, "view 1")
    results = await screen(shop.telegram, user, "«view 1»: 3 matches")

    labels = str(results["reply_markup"])
    assert "View 10" in labels
    assert "View 11" in labels
    assert "View 2 " not in labels


async def test_email_is_validated_and_unique_regardless_of_case(shop: Shop) -> None:
    first, second = next(_shoppers), next(_shoppers)
    for user, address in ((first, "not-an-email"), (first, "Ann@Example.com")):
        menu = await _fresh_menu(shop, user)
        profile = await click(shop.telegram, user, menu, "Profile", "Profile")
        await click(shop.telegram, user, profile, "Set email", "Send your email address")
        shop.telegram.push_message(user, address)
        await asyncio.sleep(0.5)
    menu = await _fresh_menu(shop, second)
    profile = await click(shop.telegram, second, menu, "Profile", "Profile")
    await click(shop.telegram, second, profile, "Set email", "Send your email address")
    shop.telegram.push_message(second, "ann@example.COM")

    await told(shop.telegram, first, "does not look like an email")
    await told(shop.telegram, first, "Email saved.")
    await told(shop.telegram, second, "already used by another account")


async def test_a_title_with_markup_characters_is_shown_and_delivered_as_text(shop: Shop) -> None:
    title = "Tom & <Jerry>"
    stocked = await stock_shop(shop.sessions, "Markup", [title], price=70)
    # Stocked behind the bot's back (not through the admin screens, which make it count
    # again): the catalog shows the new category once its cached counts expire. The test
    # before may have read them less than that ago.
    await asyncio.sleep(CATALOG_COUNTS_TTL_S)
    user = next(_shoppers)
    shop.telegram.push_message(user, "/start")
    menu = await screen(shop.telegram, user, "Welcome to")
    categories = await click(shop.telegram, user, menu, "Catalog", "Choose a category")
    products = await click(shop.telegram, user, categories, "Markup", "1 image")

    card = await click(shop.telegram, user, products, title, "Price: 70 ⭐")
    invoices = len(shop.telegram.calls_of("sendInvoice"))
    press(shop.telegram, user, card, shop.telegram.button(card, "Buy for 70"))
    await shop.telegram.wait_for_call("sendInvoice", count=invoices + 1)
    payload = str(shop.telegram.calls_of("sendInvoice")[-1].params["payload"])
    assert (await pre_checkout(shop, user, payload, 70))["ok"] is True
    shop.telegram.push_update(shop.telegram.successful_payment_update(user, payload, 70))
    await asyncio.wait_for(_documents(shop, user, 1), 20)

    escaped = "Tom &amp; &lt;Jerry&gt;"
    assert f"<b>{escaped}</b>" in str(card.get("text") or card.get("caption"))
    sent = [c.params for c in shop.telegram.calls if c.params.get("chat_id") == user]
    assert any(escaped in str(p.get("text", "")) for p in sent)  # "Payment received…"
    assert any(escaped in str(p.get("caption", "")) for p in sent)  # the document's caption
    assert not [c for c in shop.telegram.calls if c.method.endswith(":refused")]
    assert stocked.product_ids
