"""Retention on the real Postgres, run by the scheduler as the worker runs it: old rows that
served their purpose go, everything live, unfinished or paid stays."""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, insert, null, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.sales_data import SalesHistory
from vitrina_common.config import RetentionSettings
from vitrina_common.db.models import (
    ImportBatch,
    ImportBatchRow,
    ImportRowOutcome,
    ImportStatus,
    Order,
    OrderStatus,
    OutboxMessage,
    Purchase,
    RefusalReason,
    RefusedCharge,
    ScheduledTask,
    TelegramUpdate,
    UpdateOutcome,
)
from vitrina_common.scheduling import Scheduler
from vitrina_common.services.inbox import IncomingUpdate, UpdateInbox
from vitrina_common.services.retention import (
    RETENTION_TASK,
    Retention,
    RetentionReport,
    retention_task,
)

pytestmark = pytest.mark.postgres

SessionFactory = async_sessionmaker[AsyncSession]
MONEY = {"pre_checkout_query": {"invoice_payload": "p"}}
# Two rows per DELETE, so every table takes several chunks.
CHUNK = 2
_payloads = itertools.count(1)


class Seed:
    """Rows written straight into the tables, dated relative to the database's clock."""

    def __init__(self, sessions: SessionFactory, now: datetime) -> None:
        self.sessions = sessions
        self.now = now

    def ago(self, days: float) -> datetime:
        return self.now - timedelta(days=days)

    async def rows(self, model: type[Any], rows: list[dict[str, Any]]) -> None:
        async with self.sessions() as session, session.begin():
            await session.execute(insert(model), rows)

    async def update(
        self,
        update_id: int,
        days_ago: float,
        *,
        money: bool,
        processed: bool,
        outcome: UpdateOutcome = UpdateOutcome.PROCESSED,
    ) -> None:
        """An update as the bot's inbox records it, received ``days_ago`` (closed with
        ``outcome`` when ``processed``)."""
        kind = "pre_checkout_query" if money else "message"
        await UpdateInbox(self.sessions).admit(
            [IncomingUpdate(update_id, kind, MONEY if money else None)]
        )
        received = self.ago(days_ago)
        async with self.sessions() as session, session.begin():
            await session.execute(
                update(TelegramUpdate)
                .where(TelegramUpdate.update_id == update_id)
                .values(
                    received_at=received,
                    processed_at=received if processed else None,
                    outcome=outcome if processed else None,
                )
            )

    async def outbox(
        self, key: str, days_ago: float, *, delivered: bool, dead: bool = False
    ) -> None:
        at = self.ago(days_ago)
        await self.rows(OutboxMessage, [{
            "kind": "nats.publish", "dedup_key": key, "payload": {}, "attempts": 3,
            "created_at": at, "available_at": at, "delivered_at": at if delivered else None,
            "dead_at": at if dead else None,
        }])  # fmt: skip

    async def batch(self, status: ImportStatus, finished_days_ago: float | None, rows: int) -> int:
        async with self.sessions() as session, session.begin():
            batch = ImportBatch(
                admin_telegram_id=1, chat_id=1, zip_key="z", zip_name="z.zip", status=status,
                rows_total=rows, created_at=self.ago(90),
                finished_at=None if finished_days_ago is None else self.ago(finished_days_ago),
            )  # fmt: skip
            session.add(batch)
            await session.flush()
            outcome = (
                ImportRowOutcome.PENDING if finished_days_ago is None else ImportRowOutcome.IMPORTED
            )
            session.add_all(
                ImportBatchRow(batch_id=batch.id, row_number=n, outcome=outcome, cells=["a"])
                for n in range(2, rows + 2)
            )
            return batch.id

    async def order(
        self, user: int, product: int, status: OrderStatus, expired_days_ago: float
    ) -> int:
        async with self.sessions() as session, session.begin():
            order = Order(
                user_id=user, product_id=product, price_stars=50, status=status,
                invoice_payload=f"retention-{next(_payloads)}",
                expires_at=self.ago(expired_days_ago),
            )  # fmt: skip
            session.add(order)
            await session.flush()
            return order.id


async def seeded(sessions: SessionFactory) -> Seed:
    async with sessions() as session:
        now = await session.scalar(select(func.now()))
    assert now is not None
    return Seed(sessions, now)


async def ids(sessions: SessionFactory, column: Any) -> set[Any]:
    async with sessions() as session:
        return set((await session.execute(select(column))).scalars())


async def count(sessions: SessionFactory, model: type[Any]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def run_retention_through_the_scheduler(
    sessions: SessionFactory, settings: RetentionSettings
) -> None:
    scheduler = Scheduler(sessions, [retention_task(sessions, settings, chunk_rows=CHUNK)])

    assert await scheduler.run_due() == RETENTION_TASK

    async with sessions() as session:
        row = await session.get(ScheduledTask, RETENTION_TASK)
    assert row is not None
    assert (row.runs, row.last_error) == (1, None)


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
    assert await count(session_factory, ImportBatchRow) == 4
    assert await ids(session_factory, Order.id) == orders_before - set(unpaid)
    assert {recently_expired, refused_charge_order} <= orders_before - set(unpaid)
    assert await ids(session_factory, Purchase.id) >= {paid_purchase, refunded_purchase}
    assert await count(session_factory, Purchase) == 3
    nothing_left = await Retention(session_factory, RetentionSettings(), chunk_rows=CHUNK)()
    assert nothing_left == RetentionReport(0, 0, 0, 0, 0, 0)


async def test_retention_ages_come_from_the_settings(session_factory: SessionFactory) -> None:
    seed = await seeded(session_factory)
    await seed.update(1, 3, money=False, processed=False)
    await seed.outbox("two-days", 2, delivered=True)
    await seed.batch(ImportStatus.DONE, 2, rows=1)
    history = SalesHistory(session_factory)
    buyer = await history.user(501, seed.ago(10))
    await seed.order(buyer, await history.product("Print"), OrderStatus.EXPIRED, 2)
    await seed.update(2, 3, money=True, processed=True, outcome=UpdateOutcome.DEAD)
    await seed.outbox("dead-two-days", 2, delivered=False, dead=True)
    short = RetentionSettings(
        telegram_updates_days=2,
        outbox_days=1,
        import_rows_days=1,
        unpaid_orders_days=1,
        dead_days=1,
    )

    assert await Retention(session_factory, RetentionSettings())() == RetentionReport(
        0, 0, 0, 0, 0, 0
    )
    assert await Retention(session_factory, short)() == RetentionReport(1, 1, 1, 1, 1, 1)


async def test_retention_skips_rows_a_transaction_holds_and_takes_them_next_time(
    session_factory: SessionFactory,
) -> None:
    seed = await seeded(session_factory)
    await seed.update(1, 8, money=True, processed=True)
    await seed.update(2, 8, money=False, processed=False)
    retention = Retention(session_factory, RetentionSettings(), chunk_rows=CHUNK)

    async with session_factory() as holder, holder.begin():
        await holder.execute(text("SELECT 1 FROM telegram_updates WHERE update_id = 1 FOR UPDATE"))
        report = await asyncio.wait_for(retention(), 10)

    assert report.telegram_updates == 1
    assert await ids(session_factory, TelegramUpdate.update_id) == {1}
    assert (await retention()).telegram_updates == 1


async def test_a_table_retention_cannot_clean_is_recorded_and_the_others_are_still_cleaned(
    session_factory: SessionFactory,
) -> None:
    seed = await seeded(session_factory)
    await seed.update(1, 8, money=False, processed=False)
    await seed.outbox("old-delivered", 8, delivered=True)
    history = SalesHistory(session_factory)
    buyer = await history.user(502, seed.ago(60))
    await seed.order(buyer, await history.product("Print"), OrderStatus.EXPIRED, 31)
    # A table retention does not know refers to an old update (as a later feature might).
    async with session_factory() as session, session.begin():
        await session.execute(
            text("CREATE TABLE update_notes (update_id bigint REFERENCES telegram_updates)")
        )
        await session.execute(text("INSERT INTO update_notes VALUES (1)"))
    scheduler = Scheduler(session_factory, [retention_task(session_factory, RetentionSettings())])

    assert await scheduler.run_due() == RETENTION_TASK

    async with session_factory() as session:
        row = await session.get(ScheduledTask, RETENTION_TASK)
    assert row is not None
    assert row.last_error is not None
    assert row.last_error.startswith("RetentionFailedError: telegram_updates: IntegrityError")
    assert await ids(session_factory, TelegramUpdate.update_id) == {1}
    assert await count(session_factory, OutboxMessage) == 0
    assert await count(session_factory, Order) == 0
