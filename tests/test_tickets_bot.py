"""Support tickets through the real bot process and the fake Bot API: a shopper opens one
from Help and from a purchase, an admin takes, answers (text and photo) and closes it, the
shopper hears of each answer exactly once (the bot's outbox relay), and forged buttons —
another shopper's ticket id, an admin's button pressed by a shopper — change nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select

from devstack.nats import NatsServer
from devstack.postgres import EmbeddedPostgres
from tests.fakes.telegram_api import STALE_FILE_ID
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
from tests.test_admin_users import add_purchase, add_user
from vitrina_common.db.models import AttachmentKind, OutboxMessage, Ticket, TicketStatus
from vitrina_common.notices import NOTIFY_USER
from vitrina_common.services.tickets import Attachment, Shopper, Staff, Tickets

pytestmark = [pytest.mark.postgres, pytest.mark.nats, pytest.mark.slow]

ADMIN, SECOND_ADMIN = 6900, 6901
# One shopper per test: the shop is shared by the module.
HELPER, BUYER, ANSWERED, FORGER, OWNER, IMPOSTOR, QUEUED, UNLUCKY = range(6001, 6009)
# Words only admin screens show.
ADMIN_WORDS = ("Tickets, oldest first", "Shop admin", "From user", "Take")


async def stock(sessions: SessionFactory) -> Stocked:
    stocked = await stock_shop(sessions, "Support", ["Harbour"], price=40)
    for telegram_id in (HELPER, BUYER, ANSWERED, FORGER, OWNER, IMPOSTOR, QUEUED, UNLUCKY):
        user_id = await add_user(sessions, telegram_id)
        if telegram_id == BUYER:
            await add_purchase(sessions, user_id, stocked.product_ids[0], f"charge-{BUYER}")
    return stocked


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def shop(
    postgres: EmbeddedPostgres,
    migrated_template: str,
    nats_server: NatsServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Shop]:
    async with running_shop(
        postgres, migrated_template, nats_server, tmp_path_factory.mktemp("tickets-bot"),
        admin_ids=[ADMIN, SECOND_ADMIN], stock=stock,
    ) as running:  # fmt: skip
        yield running


async def new_screen(shop: Shop, chat_id: int, text: str, contains: str) -> dict[str, Any]:
    """Send ``text``; wait for a *new* message that reads ``contains``."""
    shown = len(shop.telegram.messages_to(chat_id))
    shop.telegram.push_message(chat_id, text)
    async with asyncio.timeout(15):
        while True:
            fresh: list[dict[str, Any]] = shop.telegram.messages_to(chat_id)[shown:]
            for message in reversed(fresh):
                if contains in text_of(message) and message.get("reply_markup"):
                    return dict(message)
            await asyncio.sleep(0.05)


def sent_to(shop: Shop, chat_id: int, method: str = "sendMessage") -> list[dict[str, Any]]:
    return [
        call.params
        for call in shop.telegram.calls_of(method)
        if call.params.get("chat_id") == chat_id
    ]


async def _ticket(shop: Shop, author: int) -> Ticket:
    tickets = Tickets(shop.sessions, [ADMIN, SECOND_ADMIN])
    page = await tickets.list_tickets(Shopper(author), limit=1)
    assert page.items, f"{author} has no ticket"
    async with shop.sessions() as session:
        ticket = await session.get(Ticket, page.items[0].id)
        assert ticket is not None
        return ticket


async def open_queue_card(shop: Shop, admin: int, ticket_id: int) -> dict[str, Any]:
    menu = await new_screen(shop, admin, "/admin", "Shop admin")
    queue = await click(shop.telegram, admin, menu, "Tickets", "oldest first")
    return await click(shop.telegram, admin, queue, f"#{ticket_id} ", f"Ticket #{ticket_id}")


async def test_a_shopper_opens_a_ticket_from_help_and_the_admins_are_told(shop: Shop) -> None:
    menu = await new_screen(shop, HELPER, "/start", "Welcome to")
    help_screen = await click(shop.telegram, HELPER, menu, "Help", "sells digital images")
    await click(shop.telegram, HELPER, help_screen, "Write to support", "Describe the problem")

    shop.telegram.push_message(HELPER, "My download fails <b>always</b>")

    conversation = await screen(shop.telegram, HELPER, "Status: 🆕 new")
    ticket = await _ticket(shop, HELPER)
    assert f"Ticket #{ticket.id}" in text_of(conversation)
    assert "My download fails &lt;b&gt;always&lt;/b&gt;" in text_of(conversation)
    assert ticket.subject == "My download fails <b>always</b>"
    for admin in (ADMIN, SECOND_ADMIN):
        alert = await told(shop.telegram, admin, f"New ticket #{ticket.id}")
        assert "&lt;b&gt;always" in alert


async def test_a_buyer_opens_a_ticket_about_a_purchase(shop: Shop) -> None:
    menu = await new_screen(shop, BUYER, "/start", "Welcome to")
    categories = await click(shop.telegram, BUYER, menu, "Catalog", "Choose a category")
    products = await click(shop.telegram, BUYER, categories, "Support", "1 image")
    card = await click(shop.telegram, BUYER, products, "Harbour", "You own this image")
    await click(shop.telegram, BUYER, card, "Problem with this image", "About: «Harbour»")

    shop.telegram.push_photo(BUYER, b"screenshot", "It arrives cropped")

    await screen(shop.telegram, BUYER, "It arrives cropped")
    ticket = await _ticket(shop, BUYER)
    assert ticket.subject == "Harbour"
    assert ticket.purchase_id is not None
    await told(shop.telegram, ADMIN, f"New ticket #{ticket.id}")

    def photos(admin: int) -> list[object]:
        return [params["photo"] for params in sent_to(shop, admin, "sendPhoto")]

    # The admins are told one after the other: wait for the second, not just any photo.
    async with asyncio.timeout(20):
        while not photos(SECOND_ADMIN):  # noqa: ASYNC110  (the bot sends from its process)
            await asyncio.sleep(0.05)
    assert photos(ADMIN) == photos(SECOND_ADMIN)


async def test_an_admin_takes_answers_and_closes_and_the_shopper_hears_once_each(
    shop: Shop,
) -> None:
    tickets = Tickets(shop.sessions, [ADMIN])
    opened = await tickets.open_ticket(Shopper(ANSWERED), "Where is my file?")
    card = await open_queue_card(shop, ADMIN, opened.id)
    assert "taken by: nobody" in text_of(card)

    card = await click(shop.telegram, ADMIN, card, "Take", f"taken by: {ADMIN}")
    await click(shop.telegram, ADMIN, card, "Answer", "Write the answer")
    shop.telegram.push_message(ADMIN, "Sent again, <check> your chat")
    await screen(shop.telegram, ADMIN, "Status: 💬 answered")
    await told(shop.telegram, ANSWERED, "The shop answered your ticket")

    card = shop.telegram.last_message_to(ADMIN)
    await click(shop.telegram, ADMIN, card, "Answer", "Write the answer")
    shop.telegram.push_photo(ADMIN, b"proof", "Here is a picture")
    await told(shop.telegram, ANSWERED, "Here is a picture")
    await shop.telegram.wait_for_call("sendPhoto")
    card = await screen(shop.telegram, ADMIN, "📷 photo")
    await click(shop.telegram, ADMIN, card, "Close ticket", "Status: ✅ closed")
    await told(shop.telegram, ANSWERED, "is closed")
    await asyncio.sleep(1)  # anything sent twice would have arrived by now

    texts = [str(p["text"]) for p in sent_to(shop, ANSWERED)]
    assert len([t for t in texts if "The shop answered your ticket" in t]) == 2
    assert len([t for t in texts if "Sent again, &lt;check&gt; your chat" in t]) == 1
    assert len([t for t in texts if "is closed" in t]) == 1
    assert len(sent_to(shop, ANSWERED, "sendPhoto")) == 1
    async with shop.sessions() as session:
        rows = list(
            await session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.kind == NOTIFY_USER,
                    OutboxMessage.payload["chat_id"].as_integer() == ANSWERED,
                )
            )
        )
    assert len(rows) == 3
    assert all(row.delivered_at is not None for row in rows)
    assert (await _ticket(shop, ANSWERED)).status == TicketStatus.CLOSED
    # The photo was an answer, not a product upload.
    assert not [t for t in (str(p["text"]) for p in sent_to(shop, ADMIN)) if "Not added" in t]


async def test_a_forged_button_with_another_shoppers_ticket_shows_not_found(shop: Shop) -> None:
    tickets = Tickets(shop.sessions, [ADMIN])
    owners = await tickets.open_ticket(Shopper(OWNER), "Private: my order 12345")
    await tickets.open_ticket(Shopper(FORGER), "My own question")
    menu = await new_screen(shop, FORGER, "/start", "Welcome to")
    help_screen = await click(shop.telegram, FORGER, menu, "Help", "sells digital images")
    listing = await click(shop.telegram, FORGER, help_screen, "My tickets", "Your tickets")
    intent = shop.telegram.button(listing, "Back").split("\x1d")[0]

    press(shop.telegram, FORGER, listing, f"{intent}\x1dticket:{owners.id}")
    forged = await screen(shop.telegram, FORGER, "Ticket not found.")
    shop.telegram.push_message(FORGER, "/start")
    await asyncio.sleep(1)

    assert "Reply" not in str(forged["reply_markup"])
    for message in shop.telegram.messages_to(FORGER):
        assert "order 12345" not in text_of(message)
    details = await tickets.get(Shopper(OWNER), owners.id)
    assert [c.text for c in details.comments] == ["Private: my order 12345"]


async def test_a_shopper_pressing_an_admins_ticket_buttons_changes_nothing(shop: Shop) -> None:
    tickets = Tickets(shop.sessions, [ADMIN])
    opened = await tickets.open_ticket(Shopper(IMPOSTOR), "Please help")
    card = await open_queue_card(shop, SECOND_ADMIN, opened.id)
    close, take = shop.telegram.button(card, "Close ticket"), shop.telegram.button(card, "Take")
    menu = await new_screen(shop, IMPOSTOR, "/start", "Welcome to")
    own_intent = shop.telegram.button(menu, "Catalog").split("\x1d")[0]
    answers = len(shop.telegram.calls_of("answerCallbackQuery"))

    for data in (close, take, f"{own_intent}\x1dclose", f"{own_intent}\x1dtake"):
        press(shop.telegram, IMPOSTOR, menu, data)
    await shop.telegram.wait_for_call("answerCallbackQuery", count=answers + 4)
    await asyncio.sleep(1)

    ticket = await _ticket(shop, IMPOSTOR)
    assert (ticket.status, ticket.assignee_telegram_id) == (TicketStatus.OPEN, None)
    for message in shop.telegram.messages_to(IMPOSTOR):
        assert not any(word in text_of(message) for word in ADMIN_WORDS), text_of(message)
    # The same button still works for the admin it was shown to.
    press(shop.telegram, SECOND_ADMIN, card, close)
    await screen(shop.telegram, SECOND_ADMIN, "Status: ✅ closed")


def labels(message: dict[str, Any]) -> str:
    return " ".join(b["text"] for row in message["reply_markup"]["inline_keyboard"] for b in row)


async def test_the_queue_shows_what_waits_for_the_shop_and_its_filters_change_that(
    shop: Shop,
) -> None:
    tickets = Tickets(shop.sessions, [ADMIN, SECOND_ADMIN])
    waiting = await tickets.open_ticket(Shopper(QUEUED), "Still waiting")
    answered = await tickets.open_ticket(Shopper(QUEUED), "Already answered")
    await tickets.add_comment(Staff(ADMIN), answered.id, "Done")
    await tickets.take(Staff(ADMIN), waiting.id)
    menu = await new_screen(shop, SECOND_ADMIN, "/admin", "Shop admin")

    queue = await click(shop.telegram, SECOND_ADMIN, menu, "Tickets", "oldest first")
    assert f"#{waiting.id} 🆕 Still waiting" in labels(queue)
    assert f"#{answered.id} " not in labels(queue)
    press(shop.telegram, SECOND_ADMIN, queue, shop.telegram.button(queue, "Show: waiting"))
    queue = await screen_with_button(shop, SECOND_ADMIN, "Show: answered")
    assert f"#{answered.id} 💬 Already answered" in labels(queue)
    assert f"#{waiting.id} " not in labels(queue)
    press(shop.telegram, SECOND_ADMIN, queue, shop.telegram.button(queue, "Taken: anyone"))
    queue = await screen_with_button(shop, SECOND_ADMIN, "Taken: me")

    assert f"#{answered.id} " not in labels(queue)
    assert "No tickets match" in text_of(queue)


async def screen_with_button(shop: Shop, chat_id: int, label: str) -> dict[str, Any]:
    """Wait until the chat's newest screen has a button reading ``label``."""
    async with asyncio.timeout(15):
        while True:
            message = shop.telegram.last_message_to(chat_id)
            if label in labels(message):
                return message
            await asyncio.sleep(0.05)


async def test_an_answers_photo_telegram_refuses_leaves_its_text_sent_once(shop: Shop) -> None:
    tickets = Tickets(shop.sessions, [ADMIN])
    opened = await tickets.open_ticket(Shopper(UNLUCKY), "Broken again")
    shop.telegram.fail_next("sendPhoto", STALE_FILE_ID)

    await tickets.add_comment(
        Staff(ADMIN), opened.id, "Look at this",
        attachment=Attachment(AttachmentKind.PHOTO, "photo-gone"),
    )  # fmt: skip

    await told(shop.telegram, UNLUCKY, "Look at this")
    await asyncio.sleep(4)  # a retry (after 1 s, at the relay's next 2 s poll) would have come
    assert len([p for p in sent_to(shop, UNLUCKY) if "Look at this" in str(p["text"])]) == 1
