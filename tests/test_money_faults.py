"""The money path under faults, each injected on the real stack: the bot process (polling or
webhook) talking HTTP to a fake Bot API, a real Postgres and a real nats-server.

Whatever breaks, a charge ends in a delivery or a refund, once; a bad row never wedges the
rows behind it or a start-up; the last copy of an edition is sold once; user text never
breaks a message; retention removes what served its time and nothing live or paid. The
sections follow issue 12's items; ``test_inbox``, ``test_checkout_reservations``,
``test_checkout_payments``, ``test_user_text`` and ``test_retention`` pin the details.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import JSON, func, null, select, update

from devstack.nats import NatsServer
from devstack.postgres import EmbeddedPostgres
from tests.fakes.telegram_api import ScriptedError, visible_chars
from tests.money_faults import ADMIN, MoneyStack, inbox, invoice, money_stack, product, put_in_inbox
from tests.retention_rows import (
    CHUNK,
    SessionFactory,
    ids,
    run_retention_through_the_scheduler,
    seeded,
)
from tests.retention_rows import count as rows_in
from tests.sales_data import SalesHistory
from tests.services import nats_settings
from tests.storefront import click, screen, text_of, told
from vitrina_common.config import RetentionSettings
from vitrina_common.db.models import (
    ImportBatch,
    ImportBatchRow,
    ImportStatus,
    Order,
    OrderStatus,
    OutboxMessage,
    Product,
    Purchase,
    PurchaseStatus,
    RefusalReason,
    RefusedCharge,
    TelegramUpdate,
    UpdateOutcome,
)
from vitrina_common.messaging.connection import connect_nats
from vitrina_common.messaging.topology import CHAT_LOCKS_BUCKET
from vitrina_common.services.checkout import Payment, PurchaseQueries, RecordSuccessfulPayment
from vitrina_common.services.retention import Retention, RetentionReport
from vitrina_common.storage.objects import ImageStore

pytestmark = [pytest.mark.postgres, pytest.mark.nats, pytest.mark.slow]

SHOPPER, RIVAL = 5001, 5002
QUERY_TOO_OLD = ScriptedError(
    400, "Bad Request: query is too old and response timeout expired or query ID is invalid"
)
# Fast retries, so "after N attempts" happens within a test.
QUICK_RETRIES = {
    "APP_CONF__DELIVERY__MAX_ATTEMPTS": "3",
    "APP_CONF__DELIVERY__FIRST_RETRY_S": "0.2",
    "APP_CONF__DELIVERY__MAX_RETRY_S": "0.5",
}
StackFactory = Callable[..., AbstractAsyncContextManager[MoneyStack]]


@pytest_asyncio.fixture(loop_scope="session")
async def stack_of(
    postgres: EmbeddedPostgres,
    migrated_template: str,
    nats_server: NatsServer,
    tmp_path: Path,
) -> AsyncIterator[StackFactory]:
    """``stack_of(webhook=…, extra_env=…)``: this test's stack, its bot not started."""

    def stack(**options: Any) -> AbstractAsyncContextManager[MoneyStack]:
        return money_stack(postgres, migrated_template, nats_server, tmp_path, **options)

    yield stack


def sent_documents(stack: MoneyStack, chat_id: int) -> list[Any]:
    return [
        call.params["document"]
        for call in stack.telegram.calls_of("sendDocument")
        if call.params["chat_id"] == chat_id
    ]


async def count(stack: MoneyStack, model: Any, *where: Any) -> int:
    async with stack.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where)) or 0


async def until(check: Callable[[], Any], timeout_s: float = 15) -> None:
    """Wait until ``check()`` (sync or async) is true."""
    async with asyncio.timeout(timeout_s):
        while True:
            result = check()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return
            await asyncio.sleep(0.05)


# 1. One bad inbox row never wedges the others, nor a start-up.


async def test_stale_pre_checkout_row_is_closed_expired_and_the_payment_behind_it_delivered(
    stack_of: StackFactory,
) -> None:
    async with stack_of() as stack:
        telegram = stack.telegram
        paid = await invoice(stack.sessions, SHOPPER, await product(stack.sessions, "Harbour"))
        stale = {"update_id": 101, **telegram.pre_checkout_update(SHOPPER, paid.payload, 50)}
        payment = telegram.successful_payment_update(SHOPPER, paid.payload, 50, "ch-101")
        await put_in_inbox(stack.sessions, stale, received_ago_s=30)
        await put_in_inbox(stack.sessions, {"update_id": 102, **payment}, received_ago_s=25)
        # What Telegram says to an answer that comes this late.
        telegram.fail_next("answerPreCheckoutQuery", QUERY_TOO_OLD)

        await stack.start_bot()
        await telegram.wait_for_call("sendDocument")

        rows = await inbox(stack.sessions)
        assert rows[101].outcome is UpdateOutcome.EXPIRED
        assert rows[102].outcome is UpdateOutcome.PROCESSED
        assert telegram.calls_of("answerPreCheckoutQuery") == []
        assert telegram.calls_of("answerPreCheckoutQuery:failed") == []
        assert stack.bot is not None
        assert stack.bot.running
        assert "Traceback" not in stack.bot_log()


async def test_a_row_that_always_fails_goes_dead_the_admins_are_told_and_webhook_start_up_succeeds(
    stack_of: StackFactory,
) -> None:
    async with stack_of(webhook=True, extra_env=QUICK_RETRIES) as stack:
        telegram = stack.telegram
        paid = await invoice(stack.sessions, SHOPPER, await product(stack.sessions, "Pier"))
        # A successful_payment the bot can never read (its fields are missing).
        poison = {
            "update_id": 201,
            "message": {
                "message_id": 1,
                "date": 1_700_000_000,
                "chat": {"id": SHOPPER, "type": "private"},
                "successful_payment": {"currency": "XTR"},
            },
        }
        payment = telegram.successful_payment_update(SHOPPER, paid.payload, 50, "ch-202")
        await put_in_inbox(stack.sessions, poison, received_ago_s=60)
        await put_in_inbox(stack.sessions, {"update_id": 202, **payment}, received_ago_s=60)

        await stack.start_bot()
        alert = await told(telegram, ADMIN, "given up after 3 attempts")
        await telegram.wait_for_call("sendDocument")

        assert "Update 201" in alert
        rows = await inbox(stack.sessions)
        assert (rows[201].outcome, rows[201].attempts) == (UpdateOutcome.DEAD, 3)
        assert "ValidationError" in (rows[201].last_error or "")
        assert rows[202].outcome is UpdateOutcome.PROCESSED
        assert stack.bot is not None
        assert stack.bot.running


# 2. A webhook retry of an update whose first attempt never finished is processed now.


async def test_webhook_retry_of_an_unfinished_payment_is_processed_at_once(
    stack_of: StackFactory,
) -> None:
    async with stack_of(webhook=True) as stack:
        telegram = stack.telegram
        paid = await invoice(stack.sessions, SHOPPER, await product(stack.sessions, "Dock"))
        payment = {
            "update_id": 301,
            **telegram.successful_payment_update(SHOPPER, paid.payload, 50, "ch-301"),
        }
        # The first attempt's replica died mid-way; its retry is not due for an hour.
        await put_in_inbox(stack.sessions, payment, attempts=1, next_attempt_in_s=3600)
        await stack.start_bot()

        status = await stack.post(payment)

        assert status == (200, "ok")
        # Answered after processing: the purchase was recorded before the answer.
        assert (await inbox(stack.sessions))[301].outcome is UpdateOutcome.PROCESSED
        await telegram.wait_for_call("sendDocument", timeout_s=5)
        assert await stack.post(payment) == (200, "duplicate")
        assert len(sent_documents(stack, SHOPPER)) == 1


# 3. A pre-checkout is answered within Telegram's 10 s whatever else the chat is doing.


async def test_pre_checkout_is_answered_in_time_behind_a_held_chat_lock_and_a_flood_wait(
    stack_of: StackFactory,
) -> None:
    async with stack_of(webhook=True) as stack:
        telegram = stack.telegram
        order = await invoice(stack.sessions, SHOPPER, await product(stack.sessions, "Quay"))
        await stack.start_bot()
        nats = await connect_nats(nats_settings(stack.nats_url, "bot"), name="dead-replica")
        locks = await nats.jetstream().key_value(CHAT_LOCKS_BUCKET.name)
        # A replica died holding the shopper's chat lock (it frees after 30 s), and a tap
        # of the shopper waits for it here, holding this replica's lock of the chat.
        await locks.create(str(SHOPPER), b"")
        start = {"update_id": 401, "message": _text_message(SHOPPER, "/start")}
        tap = asyncio.create_task(stack.post(start))
        await asyncio.sleep(0.5)
        telegram.fail_next("answerPreCheckoutQuery", ScriptedError(429, "Too Many Requests", 2))
        query = {"update_id": 402, **telegram.pre_checkout_update(SHOPPER, order.payload, 50)}

        began = time.monotonic()
        status = await asyncio.wait_for(stack.post(query), 15)
        took = time.monotonic() - began

        await locks.delete(str(SHOPPER))
        await tap
        await nats.close()
        assert status == (200, "ok")
        assert took < 10
        [answer] = telegram.calls_of("answerPreCheckoutQuery")
        assert answer.params["ok"] is True
        assert len(telegram.calls_of("answerPreCheckoutQuery:failed")) == 1


async def test_pre_checkout_whose_verdict_is_too_slow_is_told_to_try_again_in_time(
    stack_of: StackFactory,
) -> None:
    async with stack_of() as stack:
        telegram = stack.telegram
        edition = await product(stack.sessions, "Lighthouse", edition_size=5)
        order = await invoice(stack.sessions, SHOPPER, edition)
        await stack.start_bot()
        async with stack.sessions() as blocker, blocker.begin():
            # An admin's long edit holds the product row the verdict must lock.
            await blocker.execute(select(Product).where(Product.id == edition).with_for_update())
            began = time.monotonic()
            telegram.push_pre_checkout(SHOPPER, order.payload, 50)
            await telegram.wait_for_call("answerPreCheckoutQuery", timeout_s=12)
            took = time.monotonic() - began

        [answer] = telegram.calls_of("answerPreCheckoutQuery")
        assert answer.params["ok"] is False
        assert "try again" in answer.params["error_message"]
        assert took < 10
        assert await count(stack, Purchase) == 0


# 4. Limited editions: sold exactly once; a charge that cannot be delivered is refunded.


async def test_two_shoppers_racing_for_the_last_copy_twenty_times_buy_exactly_twenty(
    stack_of: StackFactory,
) -> None:
    async with stack_of() as stack:
        telegram = stack.telegram
        prints = [await product(stack.sessions, f"Print {n}", edition_size=1) for n in range(20)]
        orders = {
            (shopper, item): await invoice(stack.sessions, shopper, item)
            for item in prints
            for shopper in (SHOPPER, RIVAL)
        }
        await stack.start_bot()

        for (shopper, item), order in orders.items():
            telegram.push_update(
                telegram.pre_checkout_update(
                    shopper, order.payload, 50, query_id=f"q-{shopper}-{item}"
                )
            )
        await telegram.wait_for_call("answerPreCheckoutQuery", count=40, timeout_s=30)
        answers = {
            str(call.params["pre_checkout_query_id"]): call.params
            for call in telegram.calls_of("answerPreCheckoutQuery")
        }
        winners = []
        for item in prints:
            pair = [answers[f"q-{shopper}-{item}"] for shopper in (SHOPPER, RIVAL)]
            assert sorted(answer["ok"] for answer in pair) == [False, True], pair
            refused = next(answer for answer in pair if not answer["ok"])
            assert "sold out" in refused["error_message"]
            winners += [(s, item) for s, a in zip((SHOPPER, RIVAL), pair, strict=True) if a["ok"]]
        for n, (shopper, item) in enumerate(winners):
            payload = orders[shopper, item].payload
            telegram.push_update(
                telegram.successful_payment_update(shopper, payload, 50, f"race-{n}")
            )
        await telegram.wait_for_call("sendDocument", count=20, timeout_s=30)

        assert await count(stack, Purchase) == 20
        assert await count(stack, RefusedCharge) == 0
        for item in prints:
            assert await count(stack, Purchase, Purchase.product_id == item) == 1


async def test_a_double_charge_is_delivered_once_and_refunded_once_with_the_admins_told(
    stack_of: StackFactory,
) -> None:
    async with stack_of() as stack:
        telegram = stack.telegram
        order = await invoice(stack.sessions, SHOPPER, await product(stack.sessions, "Cliff"))
        await stack.start_bot()
        telegram.push_pre_checkout(SHOPPER, order.payload, 50)
        await telegram.wait_for_call("answerPreCheckoutQuery")

        telegram.push_update(telegram.successful_payment_update(SHOPPER, order.payload, 50, "c-1"))
        await telegram.wait_for_call("sendDocument")
        # Telegram charged the same invoice a second time.
        twice = telegram.successful_payment_update(SHOPPER, order.payload, 50, "c-2")
        telegram.push_update(twice)
        await telegram.wait_for_call("refundStarPayment")
        await told(telegram, SHOPPER, "was already paid")
        await told(telegram, SHOPPER, "has been refunded")
        alert = await told(telegram, ADMIN, "refunded automatically")
        repeat = telegram.push_update(twice)  # the same charge reported again
        await until(lambda: _closed(stack, repeat))

        [refund] = telegram.calls_of("refundStarPayment")
        assert refund.params == {"user_id": SHOPPER, "telegram_payment_charge_id": "c-2"}
        assert "c-2" in alert
        assert len(sent_documents(stack, SHOPPER)) == 1
        assert await count(stack, Purchase) == 1
        async with stack.sessions() as session:
            refused = (await session.execute(select(RefusedCharge))).scalar_one()
        assert refused.refunded_at is not None


async def test_a_payment_naming_no_order_is_refunded_not_retried_forever(
    stack_of: StackFactory,
) -> None:
    async with stack_of() as stack:
        telegram = stack.telegram
        await stack.start_bot()

        telegram.push_update(telegram.successful_payment_update(SHOPPER, "lost", 70, "c-lost"))
        await telegram.wait_for_call("refundStarPayment")
        await told(telegram, ADMIN, "refunded automatically")

        assert telegram.calls_of("sendDocument") == []


# 5. A refund made outside the bot revokes the download.


async def test_refunded_payment_revokes_the_download_once(stack_of: StackFactory) -> None:
    async with stack_of() as stack:
        telegram = stack.telegram
        item = await product(stack.sessions, "Bay")
        order = await invoice(stack.sessions, SHOPPER, item)
        await stack.start_bot()
        telegram.push_update(telegram.successful_payment_update(SHOPPER, order.payload, 50, "c-9"))
        await telegram.wait_for_call("sendDocument")
        queries = PurchaseQueries(stack.sessions)
        assert await queries.downloadable_product(SHOPPER, item) is not None

        refund = telegram.refunded_payment_update(SHOPPER, order.payload, 50, "c-9")
        telegram.push_update(refund)
        await told(telegram, ADMIN, "refunded. The download is revoked")
        again = telegram.push_update(refund)
        await until(lambda: _closed(stack, again))

        assert await queries.downloadable_product(SHOPPER, item) is None
        async with stack.sessions() as session:
            purchase = (await session.execute(select(Purchase))).scalar_one()
        assert purchase.status is PurchaseStatus.REFUNDED
        alerts = [c for c in telegram.calls_of("sendMessage") if c.params["chat_id"] == ADMIN]
        assert len(alerts) == 1


# 6. The outbox relay: nothing sent twice across a stop, nothing retried forever.


async def paid_purchases(stack: MoneyStack, how_many: int) -> None:
    """``how_many`` purchases recorded and queued for delivery, as if the bot had just
    committed them before stopping."""
    record = RecordSuccessfulPayment(stack.sessions)
    for n in range(how_many):
        order = await invoice(stack.sessions, SHOPPER, await product(stack.sessions, f"Set {n}"))
        await record(Payment(order.payload, SHOPPER, f"batch-{n}", 50, "XTR"))


async def test_bot_stopped_mid_batch_sends_no_document_twice(stack_of: StackFactory) -> None:
    async with stack_of() as stack:
        telegram = stack.telegram
        await paid_purchases(stack, 8)
        telegram.slow_down("sendDocument", 0.4)
        await stack.start_bot()
        await telegram.wait_for_call("sendDocument", count=3)

        assert await stack.stop_bot() == 0
        await stack.start_bot()
        await telegram.wait_for_call("sendDocument", count=8, timeout_s=30)
        await until(lambda: _all_delivered(stack))

        documents = sent_documents(stack, SHOPPER)
        assert len(documents) == len(set(documents)) == 8


async def test_bot_killed_mid_batch_sends_at_most_the_document_in_hand_twice(
    stack_of: StackFactory,
) -> None:
    async with stack_of() as stack:
        telegram = stack.telegram
        await paid_purchases(stack, 8)
        telegram.slow_down("sendDocument", 0.4)
        await stack.start_bot()
        await telegram.wait_for_call("sendDocument", count=3)

        await stack.kill_bot()
        await stack.start_bot()
        await until(lambda: _all_delivered(stack), timeout_s=30)

        documents = sent_documents(stack, SHOPPER)
        assert len(set(documents)) == 8
        assert len(documents) <= 9


async def test_a_stale_cached_file_id_is_forgotten_and_the_original_uploaded_again(
    stack_of: StackFactory,
) -> None:
    async with stack_of() as stack:
        telegram = stack.telegram
        nats = await connect_nats(nats_settings(stack.nats_url, "bot"), name="originals")
        original = b"\xff\xd8original bytes of the image\xff\xd9"
        key = await ImageStore(nats.jetstream()).put_original(original)
        await nats.close()
        item = await product(stack.sessions, "Reef", original_key=key)
        await _set(stack, item, original_file_id="file-of-another-bot")
        telegram.unknown_file_ids.add("file-of-another-bot")
        order = await invoice(stack.sessions, SHOPPER, item)
        await stack.start_bot()

        telegram.push_update(telegram.successful_payment_update(SHOPPER, order.payload, 50, "c-5"))
        await telegram.wait_for_call("sendDocument")

        await until(lambda: _original_file_id_is_not(stack, item, None, "file-of-another-bot"))
        assert len(telegram.calls_of("sendDocument:failed")) == 1
        [upload] = telegram.uploads_to(SHOPPER, "sendDocument")
        assert upload.data == original


async def test_a_delivery_that_always_fails_goes_dead_and_the_admins_are_told(
    stack_of: StackFactory,
) -> None:
    async with stack_of(extra_env=QUICK_RETRIES) as stack:
        telegram = stack.telegram
        telegram.fail_next("sendDocument", ScriptedError(400, "Bad Request: chat not found"), 3)
        await paid_purchases(stack, 1)
        await stack.start_bot()

        alert = await told(telegram, ADMIN, "given up after 3 attempts")

        assert "telegram.send_original" in alert
        async with stack.sessions() as session:
            row = (
                await session.execute(
                    select(OutboxMessage).where(OutboxMessage.kind == "telegram.send_original")
                )
            ).scalar_one()
        assert (row.attempts, row.delivered_at) == (3, None)
        assert row.dead_at is not None
        assert "chat not found" in (row.last_error or "")


# 7. Text from users and files is escaped and cut to what Telegram takes.

LONG_DESCRIPTION = ("<b>Dusk</b> & dawn over the bay. " * 70)[:2000]
MARKUP_TITLE = "<b>bold</b> & co poster"


async def test_a_2000_character_description_and_markup_in_a_search_are_shown_escaped(
    stack_of: StackFactory,
) -> None:
    async with stack_of() as stack:
        telegram = stack.telegram
        await _set(stack, await product(stack.sessions, "Long story"), description=LONG_DESCRIPTION)
        await product(stack.sessions, MARKUP_TITLE)
        await stack.start_bot()

        telegram.push_message(SHOPPER, "/start")
        menu = await screen(telegram, SHOPPER, "Welcome to")
        categories = await click(telegram, SHOPPER, menu, "Catalog", "Choose a category")
        products = await click(telegram, SHOPPER, categories, "Prints", "page 1 of 1")
        card = await click(telegram, SHOPPER, products, "Long story", "Price: ")
        telegram.push_message(SHOPPER, "/start")
        menu = await screen(telegram, SHOPPER, "Welcome to")
        await click(telegram, SHOPPER, menu, "Search", "What are you looking for?")
        telegram.push_message(SHOPPER, "<b>bold</b> & co")
        results = await screen(telegram, SHOPPER, "«&lt;b&gt;bold&lt;/b&gt; &amp; co»: 1 match")
        found = await click(telegram, SHOPPER, results, MARKUP_TITLE, "Price: 50 ⭐")

        caption = text_of(card)
        assert visible_chars(caption) <= 1024
        assert "&lt;b&gt;Dusk&lt;/b&gt; &amp; dawn over the bay." in caption
        assert "…\n\nPrice: 50 ⭐" in caption  # cut before the price line, which stays
        assert text_of(found).startswith("<b>&lt;b&gt;bold&lt;/b&gt; &amp; co poster</b>")
        assert [call for call in telegram.calls if call.method.endswith(":refused")] == []


# 8. Nothing is kept forever, and nothing live or paid is lost to retention.


async def test_retention_deletes_old_rows_and_keeps_live_ones(
    session_factory: SessionFactory,
) -> None:
    seed = await seeded(session_factory)
    # Inbox (7 days): closed or money-less rows go once old; an unprocessed payment stays.
    await seed.update(1, 8, money=True, processed=True)
    for update_id in range(2, 7):
        await seed.update(update_id, 8, money=False, processed=False)
    await seed.rows(TelegramUpdate, [{
        "update_id": 10, "kind": "message", "payload": null(), "received_at": seed.ago(8),
    }, {
        # How the release before 0006 stored an update without money: JSON's null.
        "update_id": 14, "kind": "message", "payload": JSON.NULL, "received_at": seed.ago(8),
    }])  # fmt: skip
    await seed.update(7, 8, money=True, processed=False)
    await seed.update(8, 1, money=True, processed=True)
    await seed.update(9, 1, money=False, processed=False)
    await seed.update(11, 8, money=True, processed=True, outcome=UpdateOutcome.EXPIRED)
    # Dead rows (90 days): the evidence of a failure outlives settled rows.
    await seed.update(12, 8, money=True, processed=True, outcome=UpdateOutcome.DEAD)
    await seed.update(13, 91, money=True, processed=True, outcome=UpdateOutcome.DEAD)
    # Outbox (7 days): delivered rows go once old; undelivered ones never.
    for n in range(3):
        await seed.outbox(f"old-delivered-{n}", 8, delivered=True)
    await seed.outbox("old-undelivered", 40, delivered=False)
    await seed.outbox("young-delivered", 1, delivered=True)
    await seed.outbox("dead-a-while", 8, delivered=False, dead=True)
    await seed.outbox("dead-long-ago", 91, delivered=False, dead=True)
    # Imports (30 days): rows of finished imports go; the imports themselves stay.
    done = await seed.batch(ImportStatus.DONE, 31, rows=3)
    refused = await seed.batch(ImportStatus.REFUSED, 31, rows=2)
    recent = await seed.batch(ImportStatus.DONE, 1, rows=2)
    running = await seed.batch(ImportStatus.RUNNING, None, rows=2)
    # Orders (30 days past expiry): never-paid ones go; paid ones and any with a purchase stay.
    history = SalesHistory(session_factory)
    buyer = await history.user(500, seed.ago(400))
    product = await history.product("Old print")
    paid_purchase = await history.purchase(buyer, product, seed.ago(400), 50)
    refunded_purchase = await history.purchase(buyer, product, seed.ago(300), 50, refunded=True)
    unpaid = [
        await seed.order(buyer, product, status, 31)
        for status in (
            OrderStatus.EXPIRED,
            OrderStatus.PENDING,
            OrderStatus.CANCELLED,
            OrderStatus.RESERVED,
        )
    ]
    # A charge refused for an order: the refund's record keeps the order.
    refused_charge_order = await seed.order(buyer, product, OrderStatus.CANCELLED, 31)
    async with session_factory() as session, session.begin():
        session.add(RefusedCharge(
            telegram_payment_charge_id="refused-charge", telegram_user_id=500,
            order_id=refused_charge_order, product_id=product, amount=50, currency="XTR",
            reason=RefusalReason.SOLD_OUT,
        ))  # fmt: skip
    recently_expired = await seed.order(buyer, product, OrderStatus.EXPIRED, 1)
    # Paid is paid, even were its purchase row missing.
    await seed.order(buyer, product, OrderStatus.PAID, 400)
    # An order marked expired that was paid all the same: its purchase keeps it.
    late_paid = await seed.order(buyer, product, OrderStatus.EXPIRED, 31)
    async with session_factory() as session, session.begin():
        session.add(Purchase(
            order_id=late_paid, user_id=buyer, product_id=product, price_stars=50,
            telegram_payment_charge_id="late-charge",
        ))  # fmt: skip
    orders_before = await ids(session_factory, Order.id)

    await run_retention_through_the_scheduler(session_factory, RetentionSettings())

    assert await ids(session_factory, TelegramUpdate.update_id) == {7, 8, 9, 12}
    assert await ids(session_factory, OutboxMessage.dedup_key) == {
        "old-undelivered",
        "young-delivered",
        "dead-a-while",
    }
    assert await ids(session_factory, ImportBatch.id) == {done, refused, recent, running}
    assert await ids(session_factory, ImportBatchRow.batch_id) == {recent, running}
    assert await rows_in(session_factory, ImportBatchRow) == 4
    assert await ids(session_factory, Order.id) == orders_before - set(unpaid)
    assert {recently_expired, refused_charge_order} <= orders_before - set(unpaid)
    assert await ids(session_factory, Purchase.id) >= {paid_purchase, refunded_purchase}
    assert await rows_in(session_factory, Purchase) == 3
    nothing_left = await Retention(session_factory, RetentionSettings(), chunk_rows=CHUNK)()
    assert nothing_left == RetentionReport(0, 0, 0, 0, 0, 0, 0, 0)


def _text_message(user_id: int, text: str) -> dict[str, Any]:
    return {
        "message_id": 1,
        "date": int(time.time()),
        "chat": {"id": user_id, "type": "private"},
        "from": {"id": user_id, "is_bot": False, "first_name": "Web", "language_code": "en"},
        "text": text,
        "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}],
    }


async def _closed(stack: MoneyStack, update_id: int) -> bool:
    row = (await inbox(stack.sessions)).get(update_id)
    return row is not None and row.processed_at is not None


async def _all_delivered(stack: MoneyStack) -> bool:
    kind = OutboxMessage.kind == "telegram.send_original"
    return await count(stack, OutboxMessage, kind, OutboxMessage.delivered_at.is_(None)) == 0


async def _original_file_id_is_not(stack: MoneyStack, product_id: int, *values: Any) -> bool:
    async with stack.sessions() as session:
        cached = await session.scalar(
            select(Product.original_file_id).where(Product.id == product_id)
        )
    return cached not in values


async def _set(stack: MoneyStack, product_id: int, **values: Any) -> None:
    async with stack.sessions() as session, session.begin():
        await session.execute(update(Product).where(Product.id == product_id).values(**values))
