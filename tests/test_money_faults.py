"""The money path under faults, each injected on the real stack: the bot process (polling or
webhook) talking HTTP to a fake Bot API, a real Postgres and a real nats-server.

Whatever breaks, a charge ends in a delivery or a refund, once; a bad row never wedges the
rows behind it or a start-up; the last copy of an edition is sold once.
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
from sqlalchemy import func, select, update

from devstack.nats import NatsServer
from devstack.postgres import EmbeddedPostgres
from tests.fakes.telegram_api import ScriptedError
from tests.money_faults import ADMIN, MoneyStack, inbox, invoice, money_stack, product, put_in_inbox
from tests.storefront import told
from vitrina_common.config import NatsSettings
from vitrina_common.db.models import (
    OutboxMessage,
    Product,
    Purchase,
    PurchaseStatus,
    RefusedCharge,
    UpdateOutcome,
)
from vitrina_common.messaging.connection import connect_nats
from vitrina_common.messaging.topology import CHAT_LOCKS_BUCKET
from vitrina_common.services.checkout import Payment, PurchaseQueries, RecordSuccessfulPayment
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
        nats = await connect_nats(NatsSettings(url=stack.nats_url), name="dead-replica")
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
        nats = await connect_nats(NatsSettings(url=stack.nats_url), name="originals")
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
