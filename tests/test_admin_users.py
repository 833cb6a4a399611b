"""The admin's Users screens through the real bot process: find a user, their card, fix the
email, comment, ban and unban, and refund a purchase from its card — once, and only for
an admin."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select

from devstack.nats import NatsServer
from devstack.postgres import EmbeddedPostgres
from tests.admin_catalog_helpers import wait_alert
from tests.storefront import (
    SessionFactory,
    Shop,
    Stocked,
    click,
    press,
    running_shop,
    screen,
    stock_shop,
    text_of,
    told,
)
from vitrina_common.db.models import Language, Order, OrderStatus, Purchase, PurchaseStatus, User

pytestmark = [pytest.mark.postgres, pytest.mark.nats, pytest.mark.slow]

ADMIN, SECOND_ADMIN = 5900, 5901
ANN, BOB, CAROL, DORA, ELI = 5001, 5002, 5003, 5004, 5005
# Buyers whose purchases the refund tests spend, one per test.
REFUNDED, DOUBLE_TAP, TWO_ADMINS, REPLAYED = 5010, 5011, 5012, 5013
SHOPPER = 5020
# Words only admin screens show.
ADMIN_WORDS = ("Shop admin", "Telegram id:", "Purchase #", "Refund", "Users")


async def add_user(sessions: SessionFactory, telegram_id: int, **fields: Any) -> int:
    async with sessions() as session, session.begin():
        user = User(telegram_id=telegram_id, **{"first_name": f"User{telegram_id}", **fields})
        session.add(user)
        await session.flush()
        return user.id


async def add_purchase(
    sessions: SessionFactory, user_id: int, product_id: int, charge: str
) -> None:
    """A paid purchase as checkout leaves it (order paid, purchase with Telegram's charge)."""
    now = datetime.now(UTC)
    async with sessions() as session, session.begin():
        order = Order(
            user_id=user_id, product_id=product_id, price_stars=40, status=OrderStatus.PAID,
            invoice_payload=secrets.token_urlsafe(16), expires_at=now, paid_at=now,
        )  # fmt: skip
        session.add(order)
        await session.flush()
        session.add(
            Purchase(
                order_id=order.id, user_id=user_id, product_id=product_id, price_stars=40,
                telegram_payment_charge_id=charge,
            )
        )  # fmt: skip


async def stock(sessions: SessionFactory) -> Stocked:
    stocked = await stock_shop(sessions, "Admin users", ["Harbour", "Dunes"], price=40)
    harbour, dunes = stocked.product_ids
    ann = await add_user(
        sessions, ANN, first_name="Ann", username="Ann_Lee", email="Ann.Lee@Example.com"
    )
    await add_purchase(sessions, ann, harbour, "charge-ann-1")
    await add_purchase(sessions, ann, dunes, "charge-ann-2")
    await add_user(sessions, BOB, username="bob", email="bob@mail.test")
    for telegram_id in (CAROL, DORA, ELI, SHOPPER):
        await add_user(sessions, telegram_id)
    for buyer in (REFUNDED, DOUBLE_TAP, TWO_ADMINS, REPLAYED):
        language = Language.RU if buyer == REFUNDED else Language.EN
        user_id = await add_user(sessions, buyer, language=language)
        await add_purchase(sessions, user_id, harbour, f"charge-{buyer}")
    return stocked


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def shop(
    postgres: EmbeddedPostgres,
    migrated_template: str,
    nats_server: NatsServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Shop]:
    async with running_shop(
        postgres, migrated_template, nats_server, tmp_path_factory.mktemp("admin-users"),
        admin_ids=[ADMIN, SECOND_ADMIN], stock=stock,
    ) as running:  # fmt: skip
        yield running


async def new_screen(shop: Shop, chat_id: int, text: str, contains: str) -> dict[str, Any]:
    """Send ``text``; wait for a *new* message (not an old screen) that reads ``contains``."""
    shown = len(shop.telegram.messages_to(chat_id))
    shop.telegram.push_message(chat_id, text)
    async with asyncio.timeout(15):
        while len(shop.telegram.messages_to(chat_id)) == shown:  # noqa: ASYNC110  (another process)
            await asyncio.sleep(0.05)
    return await screen(shop.telegram, chat_id, contains)


async def search(shop: Shop, query: str, expect: str, admin: int = ADMIN) -> dict[str, Any]:
    menu = await new_screen(shop, admin, "/admin", "Shop admin")
    await click(shop.telegram, admin, menu, "Users", "Send a Telegram id")
    shop.telegram.push_message(admin, query)
    return await screen(shop.telegram, admin, expect)


async def open_card(shop: Shop, telegram_id: int, admin: int = ADMIN) -> dict[str, Any]:
    results = await search(shop, str(telegram_id), "1 user", admin)
    return await click(shop.telegram, admin, results, str(telegram_id), "Telegram id:")


async def open_purchase(shop: Shop, buyer: int, admin: int = ADMIN) -> dict[str, Any]:
    card = await open_card(shop, buyer, admin)
    listing = await click(shop.telegram, admin, card, "Purchases", f"Purchases of User{buyer}")
    return await click(shop.telegram, admin, listing, "Harbour", "Purchase #")


async def user_row(shop: Shop, telegram_id: int) -> User:
    async with shop.sessions() as session:
        user = await session.scalar(select(User).where(User.telegram_id == telegram_id))
    assert user is not None
    return user


async def purchase_of(shop: Shop, buyer: int) -> Purchase:
    async with shop.sessions() as session:
        purchase = await session.scalar(
            select(Purchase).where(Purchase.telegram_payment_charge_id == f"charge-{buyer}")
        )
    assert purchase is not None
    return purchase


def refunds_of(shop: Shop, buyer: int) -> list[dict[str, Any]]:
    return [
        call.params
        for call in shop.telegram.calls_of("refundStarPayment")
        if call.params["telegram_payment_charge_id"] == f"charge-{buyer}"
    ]


def notices_to(shop: Shop, buyer: int) -> list[str]:
    return [
        str(call.params["text"])
        for call in shop.telegram.calls_of("sendMessage")
        if call.params.get("chat_id") == buyer
    ]


async def test_search_by_telegram_id_lists_that_user(shop: Shop) -> None:
    results = await search(shop, str(ANN), f"«{ANN}»: 1 user")

    assert shop.telegram.button(results, f"Ann · @Ann_Lee · {ANN}")


async def test_search_by_username_ignores_letter_case(shop: Shop) -> None:
    results = await search(shop, "@ann_LEE", "«@ann_LEE»: 1 user")

    assert shop.telegram.button(results, f"Ann · @Ann_Lee · {ANN}")


async def test_search_by_email_ignores_letter_case(shop: Shop) -> None:
    results = await search(shop, "ann.lee@EXAMPLE.COM", "1 user")

    assert shop.telegram.button(results, f"@Ann_Lee · {ANN}")


async def test_search_for_nobody_says_nothing_was_found(shop: Shop) -> None:
    results = await search(shop, "no-such-person", "Nobody matches «no-such-person»")

    assert shop.telegram.button(results, "New search")


async def test_user_card_shows_purchases_count_and_stars_spent(shop: Shop) -> None:
    card = text_of(await open_card(shop, ANN))

    assert f"Telegram id: <code>{ANN}</code>" in card
    assert "@Ann_Lee" in card
    assert "Email: Ann.Lee@Example.com" in card
    assert "Purchases: 2 · 80 ⭐ spent" in card
    assert "✅ Not banned · 🔔 Has not blocked the bot" in card


async def test_fixing_an_email_refuses_invalid_and_taken_then_saves(shop: Shop) -> None:
    card = await open_card(shop, CAROL)
    await click(shop.telegram, ADMIN, card, "Fix email", "Send the new email of User5003")

    for typed, answer in (
        ("not an email", "does not look like an email"),
        ("BOB@MAIL.TEST", "Another account already uses this email"),
    ):
        shop.telegram.push_message(ADMIN, typed)
        await told(shop.telegram, ADMIN, answer)
        assert (await user_row(shop, CAROL)).email is None
    shop.telegram.push_message(ADMIN, "Carol@Mail.test")

    card = await screen(shop.telegram, ADMIN, "Email: Carol@Mail.test")
    assert f"Telegram id: <code>{CAROL}</code>" in text_of(card)
    assert (await user_row(shop, CAROL)).email == "Carol@Mail.test"


async def shown(shop: Shop, chat_id: int, reads: Callable[[str], bool]) -> dict[str, Any]:
    """Wait until the chat's newest screen passes ``reads``; return it."""
    async with asyncio.timeout(15):
        while True:
            message = shop.telegram.last_message_to(chat_id)
            if reads(text_of(message)):
                return message
            await asyncio.sleep(0.05)


async def test_comment_is_saved_and_cleared(shop: Shop) -> None:
    card = await open_card(shop, DORA)
    await click(shop.telegram, ADMIN, card, "Comment", "Send a comment about User5004")

    shop.telegram.push_message(ADMIN, "Asked for an invoice <by email>")
    # Escaped: the bot speaks HTML, and "<by" would make Telegram refuse the screen.
    card = await screen(shop.telegram, ADMIN, "Comment: Asked for an invoice &lt;by email&gt;")
    assert (await user_row(shop, DORA)).admin_comment == "Asked for an invoice <by email>"
    prompt = await click(shop.telegram, ADMIN, card, "Comment", "Now: Asked for an invoice")
    card = await click(shop.telegram, ADMIN, prompt, "Clear comment", f"<code>{DORA}</code>")

    assert "Comment:" not in text_of(card)
    assert (await user_row(shop, DORA)).admin_comment is None


async def test_ban_then_unban_flips_the_user_and_the_card(shop: Shop) -> None:
    card = await open_card(shop, ELI)
    assert "✅ Not banned" in text_of(card)

    card = await click(shop.telegram, ADMIN, card, "🚫 Ban", "Banned: the bot ignores")
    assert (await user_row(shop, ELI)).is_banned
    assert shop.telegram.button(card, "Unban")
    press(shop.telegram, ADMIN, card, shop.telegram.button(card, "Unban"))

    card = await shown(shop, ADMIN, lambda text: "✅ Not banned" in text and f">{ELI}<" in text)
    assert not (await user_row(shop, ELI)).is_banned
    assert shop.telegram.button(card, "🚫 Ban")


async def test_refund_from_the_purchase_card_refunds_once_and_tells_the_buyer(
    shop: Shop,
) -> None:
    purchase = await purchase_of(shop, REFUNDED)
    card = await open_purchase(shop, REFUNDED)
    assert f"Charge id: <code>charge-{REFUNDED}</code>" in text_of(card)
    assert "Status: ✅ paid" in text_of(card)
    confirm = await click(shop.telegram, ADMIN, card, "Refund 40 ⭐", "Refund 40 ⭐ to User5010")

    await click(shop.telegram, ADMIN, confirm, "Yes, refund", "Status: ↩️ refunded")

    assert refunds_of(shop, REFUNDED) == [
        {"user_id": REFUNDED, "telegram_payment_charge_id": f"charge-{REFUNDED}"}
    ]
    await told(shop.telegram, REFUNDED, "«Harbour» возвращена: 40 ⭐")
    assert (await purchase_of(shop, REFUNDED)).status is PurchaseStatus.REFUNDED
    refunded_card = await screen(shop.telegram, ADMIN, f"Purchase #{purchase.id}")
    assert "Refund 40" not in str(refunded_card["reply_markup"])
    menu = await new_screen(shop, REFUNDED, "/start", "Добро пожаловать")
    listing = await click(shop.telegram, REFUNDED, menu, "Мои покупки", "У вас 0 изображений")
    assert "⬇️" not in str(listing["reply_markup"])


async def test_confirming_twice_refunds_once(shop: Shop) -> None:
    card = await open_purchase(shop, DOUBLE_TAP)
    confirm = await click(shop.telegram, ADMIN, card, "Refund 40 ⭐", "Refund 40 ⭐ to")
    yes = shop.telegram.button(confirm, "Yes, refund")

    press(shop.telegram, ADMIN, confirm, yes)
    press(shop.telegram, ADMIN, confirm, yes)
    await screen(shop.telegram, ADMIN, "Status: ↩️ refunded")
    await told(shop.telegram, DOUBLE_TAP, "was refunded")
    await asyncio.sleep(1)

    assert len(refunds_of(shop, DOUBLE_TAP)) == 1
    assert len([n for n in notices_to(shop, DOUBLE_TAP) if "was refunded" in n]) == 1


async def test_second_admin_confirming_the_same_refund_refunds_nothing_more(shop: Shop) -> None:
    first = await click(
        shop.telegram, ADMIN, await open_purchase(shop, TWO_ADMINS), "Refund 40", "Refund 40 ⭐ to"
    )
    second = await click(
        shop.telegram, SECOND_ADMIN, await open_purchase(shop, TWO_ADMINS, SECOND_ADMIN),
        "Refund 40", "Refund 40 ⭐ to",
    )  # fmt: skip
    answers = len(shop.telegram.calls_of("answerCallbackQuery"))

    # Both confirm at once: in one batch of updates, handled concurrently.
    press(shop.telegram, ADMIN, first, shop.telegram.button(first, "Yes, refund"))
    press(shop.telegram, SECOND_ADMIN, second, shop.telegram.button(second, "Yes, refund"))
    # One admin is told it is done, the other that it is done or under way ("Purchase #…").
    await wait_alert(shop.telegram, "Refunded purchase #", answers)
    loser = await wait_alert(shop.telegram, "Purchase #", answers)
    await told(shop.telegram, TWO_ADMINS, "was refunded")
    await asyncio.sleep(1)  # room for a second refund or notice, were there one

    assert "already refunded" in loser or "being refunded" in loser
    assert len(refunds_of(shop, TWO_ADMINS)) == 1
    assert len([n for n in notices_to(shop, TWO_ADMINS) if "was refunded" in n]) == 1


async def test_shopper_replaying_or_forging_admin_buttons_changes_nothing(shop: Shop) -> None:
    card = await open_card(shop, REPLAYED)
    ban = shop.telegram.button(card, "🚫 Ban")
    purchase_card = await open_purchase(shop, REPLAYED)
    confirm = await click(shop.telegram, ADMIN, purchase_card, "Refund 40", "Refund 40 ⭐ to")
    refund = shop.telegram.button(confirm, "Yes, refund")
    menu = await new_screen(shop, SHOPPER, "/start", "Welcome to")
    shopper_intent = shop.telegram.button(menu, "Catalog").split("\x1d")[0]
    answers = len(shop.telegram.calls_of("answerCallbackQuery"))

    forged = [ban, refund, f"{shopper_intent}\x1drefund_yes", f"{shopper_intent}\x1dban"]
    for data in [*forged, "refund_yes", "ban"]:
        press(shop.telegram, SHOPPER, menu, data)
    await shop.telegram.wait_for_call("answerCallbackQuery", count=answers + 2)
    await asyncio.sleep(1.5)

    assert refunds_of(shop, REPLAYED) == []
    assert not (await user_row(shop, REPLAYED)).is_banned
    assert (await purchase_of(shop, REPLAYED)).status is PurchaseStatus.PAID
    for message in shop.telegram.messages_to(SHOPPER):
        assert not any(word in text_of(message) for word in ADMIN_WORDS), text_of(message)
    # The very same refund data still works for the admin it was shown to.
    press(shop.telegram, ADMIN, confirm, refund)
    await screen(shop.telegram, ADMIN, "Status: ↩️ refunded")
    assert len(refunds_of(shop, REPLAYED)) == 1
