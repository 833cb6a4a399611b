"""Rows of every table retention looks at, written straight into it and dated relative to
the database's clock; and retention run through the scheduler as the worker runs it."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.config import RetentionSettings
from vitrina_common.db.models import (
    ImportBatch,
    ImportBatchRow,
    ImportRowOutcome,
    ImportStatus,
    Order,
    OrderStatus,
    OutboxMessage,
    ScheduledTask,
    TelegramUpdate,
    UpdateOutcome,
)
from vitrina_common.scheduling import Scheduler
from vitrina_common.services.inbox import IncomingUpdate, UpdateInbox
from vitrina_common.services.retention import (
    RETENTION_TASK,
    retention_task,
)

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
