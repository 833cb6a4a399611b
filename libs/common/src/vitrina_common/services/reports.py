"""Use cases of the admin's sales reports: the summary beside the buttons, what the charts
draw, export rows, and asking the worker for charts and CSV files.

Revenue counts paid purchases only; purchases refunded since are counted apart (units and
stars), by the day they were made. Days are calendar days in the shop's time zone.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.messaging.contracts import ChartTexts, ExportJob, ExportTable, SalesChartsJob
from vitrina_common.outbox import enqueue_publish
from vitrina_common.repositories.outbox import OutboxRepository
from vitrina_common.repositories.report_exports import (
    products_export,
    purchases_export,
    users_export,
)
from vitrina_common.repositories.reports import (
    AnySelect,
    DailyValue,
    ProductUnits,
    ReportRepository,
    WindowTotals,
)

SessionFactory = async_sessionmaker[AsyncSession]
Clock = Callable[[], datetime]
CHART_PERIODS = (7, 30, 90)
TOP_PRODUCTS = 10
EXPORT_CHUNK_ROWS = 2000


def utc_now() -> datetime:
    """The current instant (the default clock)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Period:
    """Calendar days ``first_day`` … ``last_day`` (both included) in the shop's time zone."""

    first_day: date
    last_day: date

    @property
    def days(self) -> int:
        """How many days the period has."""
        return (self.last_day - self.first_day).days + 1


def period_ending(last_day: date, days: int) -> Period:
    """The ``days`` days up to and including ``last_day``."""
    return Period(last_day - timedelta(days=days - 1), last_day)


@dataclass(frozen=True)
class SalesSummary:
    """Today, the last 7 and the last 30 days (today included), in ``timezone``."""

    today: WindowTotals
    week: WindowTotals
    month: WindowTotals
    timezone: str


class ReportQueries:
    """Read-only sales numbers of the shop, aggregated by Postgres."""

    def __init__(
        self, session_factory: SessionFactory, timezone: str, clock: Clock = utc_now
    ) -> None:
        self._session_factory = session_factory
        self.timezone = timezone
        self._zone = ZoneInfo(timezone)
        self._clock = clock

    def today(self) -> date:
        """Today's date in the shop's time zone."""
        return self._clock().astimezone(self._zone).date()

    def period(self, days: int) -> Period:
        """The last ``days`` days, today included."""
        return period_ending(self.today(), days)

    async def summary(self) -> SalesSummary:
        """Revenue, units, refunds and new users of today, 7 days and 30 days."""
        today = self.today()
        firsts = [period_ending(today, days).first_day for days in (1, 7, 30)]
        async with self._session_factory() as session, session.begin():
            totals = await ReportRepository(session).window_totals(
                self.timezone, firsts, today + timedelta(days=1)
            )
        today_totals, week, month = totals
        return SalesSummary(today_totals, week, month, self.timezone)

    async def revenue_per_day(self, period: Period) -> list[DailyValue]:
        """Stars of paid purchases per day; days without sales are zeros."""
        async with self._session_factory() as session, session.begin():
            return await ReportRepository(session).revenue_per_day(
                self.timezone, period.first_day, period.last_day
            )

    async def units_per_product(
        self, period: Period, top: int = TOP_PRODUCTS
    ) -> list[ProductUnits]:
        """The best sellers of the period by paid copies."""
        async with self._session_factory() as session, session.begin():
            return await ReportRepository(session).units_per_product(
                self.timezone, period.first_day, period.last_day, top
            )

    async def new_users_per_day(self, period: Period) -> list[DailyValue]:
        """New users per day; days without any are zeros."""
        async with self._session_factory() as session, session.begin():
            return await ReportRepository(session).new_users_per_day(
                self.timezone, period.first_day, period.last_day
            )


_EXPORTS: dict[ExportTable, Callable[[], AnySelect]] = {
    "products": products_export,
    "purchases": purchases_export,
    "users": users_export,
}
EXPORT_HEADERS: dict[ExportTable, tuple[str, ...]] = {
    "products": (
        "id", "title", "category", "price_stars", "status", "edition_size",
        "sold", "revenue_stars", "created_at",
    ),
    "purchases": (
        "id", "created_at", "status", "price_stars", "product_id", "product_title",
        "buyer_telegram_id", "buyer_username", "refunded_at",
    ),
    "users": (
        "id", "telegram_id", "username", "first_name", "email", "language", "blocked_bot",
        "banned", "paid_purchases", "stars_spent", "created_at", "admin_comment",
    ),
}  # fmt: skip


class ExportRows:
    """A whole table for a CSV export, a chunk of rows at a time (never all in memory)."""

    def __init__(
        self, session_factory: SessionFactory, chunk_rows: int = EXPORT_CHUNK_ROWS
    ) -> None:
        self._session_factory = session_factory
        self._chunk_rows = chunk_rows

    async def chunks(self, table: ExportTable) -> AsyncIterator[Sequence[Any]]:
        """Rows in ``EXPORT_HEADERS[table]`` order, from one consistent snapshot."""
        async with self._session_factory() as session, session.begin():
            async for chunk in ReportRepository(session).stream(
                _EXPORTS[table](), self._chunk_rows
            ):
                yield chunk


class RequestReports:
    """Ask the worker for charts or an export: the job is committed to the outbox, so a
    crash right after the admin's click still produces the file."""

    def __init__(self, session_factory: SessionFactory) -> None:
        self._session_factory = session_factory

    async def charts(
        self, chat_id: int, period: Period, timezone: str, texts: ChartTexts
    ) -> SalesChartsJob:
        """Queue the three sales charts of ``period`` for ``chat_id``."""
        job = SalesChartsJob(
            request_id=uuid.uuid4().hex,
            chat_id=chat_id,
            first_day=period.first_day,
            last_day=period.last_day,
            timezone=timezone,
            texts=texts,
        )
        async with self._session_factory() as session, session.begin():
            await enqueue_publish(OutboxRepository(session), job)
        return job

    async def export(self, chat_id: int, table: ExportTable, timezone: str) -> ExportJob:
        """Queue a CSV export of ``table`` for ``chat_id``."""
        job = ExportJob(
            request_id=uuid.uuid4().hex, chat_id=chat_id, table=table, timezone=timezone
        )
        async with self._session_factory() as session, session.begin():
            await enqueue_publish(OutboxRepository(session), job)
        return job
