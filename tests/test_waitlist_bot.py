"""The waitlist through the real bot process (polling a fake Bot API), on real Postgres and
NATS: a sold-out edition's card offers the line, a refund Telegram reports reserves the
copy for the first in line, and only that shopper's Buy button (from the turn message)
opens an invoice whose pre-checkout passes; forged buttons get a clear answer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devstack.nats import NatsServer
from devstack.postgres import EmbeddedPostgres
from tests.admin_catalog_helpers import admin_card, alerts, buttons, send, wait_alert, wait_said
from tests.storefront import Shop, Stocked, click, press, running_shop, screen, stock_shop
from tests.waitlist_shop import ADMIN as WAITLIST_ADMIN
from tests.waitlist_shop import WaitlistShop
from vitrina_common.db.models import (
    EditionReservation,
    Notification,
    Product,
    Purchase,
    PurchaseStatus,
    RefusedCharge,
    ReservationState,
)

pytestmark = [pytest.mark.postgres, pytest.mark.nats, pytest.mark.slow]

ADMIN = 901
BUYER, FIRST, SECOND = 3001, 3002, 3003
SessionFactory = async_sessionmaker[AsyncSession]


async def one_print_of_one(sessions: SessionFactory) -> Stocked:
    stocked = await stock_shop(sessions, "Editions", ["Print"])
    async with sessions() as session, session.begin():
        await session.execute(update(Product).values(edition_size=1))
    return stocked


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def shop(
    postgres: EmbeddedPostgres,
    migrated_template: str,
    nats_server: NatsServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Shop]:
    async with running_shop(
        postgres, migrated_template, nats_server, tmp_path_factory.mktemp("waitlist"),
        admin_ids=[ADMIN], stock=one_print_of_one,
    ) as running:  # fmt: skip
        yield running


async def open_print(shop: Shop, user: int, expect: str) -> dict[str, Any]:
    telegram = shop.telegram
    telegram.push_message(user, "/start")
    menu = await screen(telegram, user, "Welcome to")
    categories = await click(telegram, user, menu, "Catalog", "Choose a category")
    products = await click(telegram, user, categories, "Editions", "1 image")
    return await click(telegram, user, products, "Print", expect)


async def answer_to(shop: Shop, user: int, card: dict[str, Any], data: str, expect: str) -> str:
    """Press a button by its callback data; the bot's answer reading ``expect`` (answers to
    earlier presses, empty or not, may still arrive meanwhile)."""
    since = len(alerts(shop.telegram))
    press(shop.telegram, user, card, data)
    return await wait_alert(shop.telegram, expect, since)


async def invoice_for(shop: Shop, user: int, card: dict[str, Any], data: str) -> str:
    """Press a Buy button; the payload of the invoice it sent ``user``."""
    before = len(shop.telegram.calls_of("sendInvoice"))
    press(shop.telegram, user, card, data)
    await shop.telegram.wait_for_call("sendInvoice", count=before + 1)
    invoice = shop.telegram.calls_of("sendInvoice")[-1]
    assert invoice.params["chat_id"] == user
    return str(invoice.params["payload"])


async def pre_checkout_ok(shop: Shop, user: int, payload: str) -> bool:
    before = len(shop.telegram.calls_of("answerPreCheckoutQuery"))
    shop.telegram.push_pre_checkout(user, payload, 50)
    await shop.telegram.wait_for_call("answerPreCheckoutQuery", count=before + 1)
    return bool(shop.telegram.calls_of("answerPreCheckoutQuery")[-1].params["ok"])


async def offer_of(shop: Shop, state: ReservationState) -> EditionReservation:
    async with asyncio.timeout(15):
        while True:
            async with shop.sessions() as session:
                found = await session.scalar(
                    select(EditionReservation).where(EditionReservation.state == state)
                )
            if found is not None:
                return found
            await asyncio.sleep(0.1)


async def test_the_line_gets_the_refunded_copy_and_only_its_first_can_buy_it(shop: Shop) -> None:
    telegram = shop.telegram
    card = await open_print(shop, BUYER, "Limited edition: 1 of 1 left")
    payload = await invoice_for(shop, BUYER, card, telegram.button(card, "Buy for 50"))
    assert await pre_checkout_ok(shop, BUYER, payload)
    telegram.push_update(telegram.successful_payment_update(BUYER, payload, 50, "charge-1"))
    await telegram.wait_for_call("sendDocument")

    firsts = await open_print(shop, FIRST, "sold out")
    joined = telegram.button(firsts, "Join the waitlist")
    assert await answer_to(shop, FIRST, firsts, joined, "You are 1st in line")
    seconds = await open_print(shop, SECOND, "sold out")
    joined = telegram.button(seconds, "Join the waitlist")
    assert await answer_to(shop, SECOND, seconds, joined, "You are 2nd in line")

    telegram.push_update(telegram.refunded_payment_update(BUYER, payload, 50, "charge-1"))
    offer = await offer_of(shop, ReservationState.OFFERED)
    async with shop.sessions() as session:
        turn = await session.scalar(
            select(Notification).where(Notification.template == "notifications.waitlist.turn")
        )
    assert turn is not None
    assert turn.urgent
    buy = turn.buttons[0]["callback_data"]
    assert buy == f"wl:buy:{offer.id}"

    not_yours = "This reservation is not yours or does not exist."
    for user, card, data in (
        (SECOND, seconds, buy),
        (FIRST, firsts, "wl:buy:99999999999999999999"),
        (FIRST, firsts, "wl:buy:<script>"),
    ):
        assert await answer_to(shop, user, card, data, not_yours) == not_yours
    reserved = await invoice_for(shop, FIRST, firsts, buy)
    assert await pre_checkout_ok(shop, FIRST, reserved)
    assert (await offer_of(shop, ReservationState.BOUGHT)).id == offer.id


async def test_a_wish_is_kept_and_listed(shop: Shop) -> None:
    user = 3100
    card = await open_print(shop, user, "Print")
    wish = shop.telegram.button(card, "♡ Wishlist")
    answer = await answer_to(shop, user, card, wish, "Added to your wishlist")
    shop.telegram.push_message(user, "/wishlist")
    listing = await screen(shop.telegram, user, "1 image · page 1 of 1")

    assert answer.startswith("♥ Added to your wishlist")
    assert shop.telegram.button(listing, "♥ Print")


async def test_the_admin_reorders_the_line_reads_the_log_and_raises_the_edition(
    shop: Shop,
) -> None:
    telegram, direct = shop.telegram, WaitlistShop(shop.sessions)
    for user in (3201, 3202, 3203):
        await direct.shopper(user)
    pid = await direct.product(edition_size=1, title="Etching")
    await direct.buy(3201, pid, "charge-etching")
    for user in (3202, 3203):
        await direct.waitlist.join(user, pid)

    card = await admin_card(telegram, ADMIN, pid)
    line = await click(telegram, ADMIN, card, "Waitlist", "2 waiting")
    entry = await click(telegram, ADMIN, line, "2. ", "In line: 2.")
    since = len(alerts(telegram))
    press(telegram, ADMIN, entry, telegram.button(entry, "Up"))
    await wait_alert(telegram, "Moved up.", since)
    line = await click(telegram, ADMIN, entry, "Back", "2 waiting")
    assert [label for label in buttons(line) if "(32" in label] == [
        "1. @shopper (3203)",
        "2. @shopper (3202)",
    ]
    log = await click(telegram, ADMIN, line, "Reservation log", "No reservations yet")
    line = await click(telegram, ADMIN, log, "Back", "2 waiting")
    card = await click(telegram, ADMIN, line, "Back", "Sold:")
    await click(telegram, ADMIN, card, "Edition size", "Send the new edition size")
    await send(telegram, ADMIN, "0", "Send the new edition size")
    await wait_said(telegram, ADMIN, "Send a whole number from 1 to 100000.")
    # The card comes back as a new photo (which the fake does not keep as a screen).
    telegram.push_message(ADMIN, "2")

    await wait_said(telegram, ADMIN, "Copies offered to the waitlist: 1.")
    assert await direct.offers(pid) == {3203: ReservationState.OFFERED}


async def test_fifty_payments_racing_through_the_bot_never_exceed_the_edition(
    shop: Shop,
) -> None:
    telegram, direct = shop.telegram, WaitlistShop(shop.sessions)
    waiter, racers = 3300, list(range(3400, 3450))
    for user in (3299, waiter, *racers):
        await direct.shopper(user)
    pid = await direct.product(edition_size=1, title="Plate")
    sold = await direct.buy(3299, pid, "charge-plate")
    await direct.waitlist.join(waiter, pid)
    await direct.refunds.confirm(sold)  # the copy is reserved for the waiter
    assert await direct.admin.resize_edition(WAITLIST_ADMIN, pid, "6") == 0  # 5 for anyone
    # Invoices issued while copies were left; the money path decides who gets one.
    invoices = {user: await direct.invoice(user, pid) for user in (waiter, *racers)}

    for user, invoice in invoices.items():
        telegram.push_pre_checkout(user, invoice.payload, invoice.price_stars)
    for user, invoice in invoices.items():
        # Telegram charges every one of them, as if each had been told yes.
        update = telegram.successful_payment_update(
            user, invoice.payload, invoice.price_stars, f"plate-{user}"
        )
        telegram.push_update(update)
    # Every charge ends as a delivery or a refund Telegram confirmed.
    async with asyncio.timeout(120):
        while True:
            bought, refunded = await settled_charges(shop, pid)
            if bought + refunded == len(invoices):
                break
            await asyncio.sleep(0.2)

    assert await direct.paid_copies(pid) == 6
    assert (bought, refunded) == (6, len(invoices) - 6)
    assert await direct.offers(pid) == {waiter: ReservationState.BOUGHT}


async def settled_charges(shop: Shop, product_id: int) -> tuple[int, int]:
    """Copies of the product paid for (and not refunded), and refused payments refunded."""
    async with shop.sessions() as session:
        bought = await session.scalar(
            select(func.count())
            .select_from(Purchase)
            .where(Purchase.product_id == product_id, Purchase.status == PurchaseStatus.PAID)
        )
        refunded = await session.scalar(
            select(func.count())
            .select_from(RefusedCharge)
            .where(RefusedCharge.product_id == product_id, RefusedCharge.refunded_at.is_not(None))
        )
    return bought or 0, refunded or 0
