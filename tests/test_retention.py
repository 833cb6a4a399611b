"""Retention on the real Postgres: ages from the settings, rows others hold left for the
next run, one table's failure not stopping the others. (That old rows go and live ones stay:
``test_money_faults``.)"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, text, update

from tests.retention_rows import (
    CHUNK,
    SessionFactory,
    count,
    ids,
    seeded,
)
from tests.sales_data import SalesHistory
from vitrina_common.config import RetentionSettings
from vitrina_common.db.models import (
    ImportStatus,
    Order,
    OrderStatus,
    OutboxMessage,
    ScheduledTask,
    TelegramUpdate,
    Ticket,
    TicketComment,
    TicketEvent,
    UpdateOutcome,
)
from vitrina_common.scheduling import Scheduler
from vitrina_common.services.retention import (
    RETENTION_TASK,
    Retention,
    RetentionReport,
    retention_task,
)
from vitrina_common.services.tickets import Shopper, Staff, Tickets

pytestmark = pytest.mark.postgres

ADMIN = 9001


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
    await closed_ticket(session_factory, buyer_telegram_id=501, days_ago=40)
    short = RetentionSettings(
        telegram_updates_days=2,
        outbox_days=1,
        import_rows_days=1,
        unpaid_orders_days=1,
        dead_days=1,
        closed_tickets_days=30,
    )

    assert await Retention(session_factory, RetentionSettings())() == RetentionReport(
        0, 0, 0, 0, 0, 0, 0, 0
    )
    assert await Retention(session_factory, short)() == RetentionReport(1, 1, 1, 1, 1, 1, 1, 0)


async def closed_ticket(sessions: SessionFactory, buyer_telegram_id: int, days_ago: float) -> int:
    """A ticket of ``buyer_telegram_id``, answered and closed by the shop ``days_ago``."""
    tickets = Tickets(sessions, staff_ids=(ADMIN,))
    opened = await tickets.open_ticket(Shopper(buyer_telegram_id), "The file does not open")
    await tickets.add_comment(Staff(ADMIN), opened.id, "Sent again, try now.")
    await tickets.close(Staff(ADMIN), opened.id)
    async with sessions() as session, session.begin():
        await session.execute(
            update(Ticket)
            .where(Ticket.id == opened.id)
            .values(updated_at=func.now() - timedelta(days=days_ago))
        )
    return opened.id


async def test_closed_tickets_go_with_their_conversation_and_open_ones_stay_however_old(
    session_factory: SessionFactory,
) -> None:
    history = SalesHistory(session_factory)
    await history.user(601, datetime(2025, 1, 1, tzinfo=UTC))
    old_closed = await closed_ticket(session_factory, 601, days_ago=400)
    recent_closed = await closed_ticket(session_factory, 601, days_ago=300)
    tickets = Tickets(session_factory, staff_ids=(ADMIN,))
    old_open = (await tickets.open_ticket(Shopper(601), "Still waiting")).id
    async with session_factory() as session, session.begin():
        await session.execute(
            update(Ticket)
            .where(Ticket.id == old_open)
            .values(updated_at=func.now() - timedelta(days=900))
        )

    report = await Retention(session_factory, RetentionSettings(), chunk_rows=CHUNK)()

    assert report.tickets == 1
    assert await ids(session_factory, Ticket.id) == {recent_closed, old_open}
    for table in (TicketComment, TicketEvent):
        assert old_closed not in await ids(session_factory, table.ticket_id)
        assert recent_closed in await ids(session_factory, table.ticket_id)


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
