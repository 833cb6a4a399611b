"""Sales aggregates by local day, and streaming of export rows, computed by Postgres.

Every aggregate is one SQL statement (``sum``/``count`` with ``FILTER``, ``GROUP BY`` the
local day): a million purchases never cross the wire. Days are calendar days in the shop's
time zone: ``timezone(tz, created_at)`` is the local wall-clock time of a purchase, and a
local day's first instant is ``timezone(tz, <day> 00:00)``. Periods are half-open
``[first day 00:00, day after the last 00:00)`` so the ``created_at`` indexes serve them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    Date,
    DateTime,
    Integer,
    Select,
    String,
    TextClause,
    bindparam,
    func,
    literal,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from vitrina_common.db.models import Product, Purchase, PurchaseStatus, User

# A SELECT of any columns (exports stream them without caring which).
AnySelect = Select[*tuple[Any, ...]]


class WindowTotals(NamedTuple):
    """Sales of the purchases made in one window (today, 7 days, 30 days)."""

    revenue_stars: int
    units: int
    refunded_units: int
    refunded_stars: int
    new_users: int


class DailyValue(NamedTuple):
    """One local calendar day and its number (zero when nothing happened)."""

    day: date
    value: int


class ProductUnits(NamedTuple):
    """Paid copies of one product in a period."""

    product_id: int
    title: str
    units: int


def day_start(tz: str, day: date) -> ColumnElement[datetime]:
    """The instant ``day`` begins in ``tz`` (local midnight, DST-aware, computed by Postgres)."""
    midnight = literal(datetime.combine(day, time()), DateTime(timezone=False))
    return func.timezone(tz, midnight)


PAID = Purchase.status == PurchaseStatus.PAID
_REFUNDED = Purchase.status == PurchaseStatus.REFUNDED

# Every local day of the period, joined to per-day sums: days without a row get zero.
_DAILY_SQL = """
WITH days AS (
    SELECT :first_day + offsets.n AS day
    FROM generate_series(0, :day_count - 1) AS offsets(n)
), totals AS (
    SELECT CAST(timezone(:tz, {column}) AS date) AS day, {aggregate} AS value
    FROM {table}
    WHERE {column} >= timezone(:tz, CAST(:first_day AS timestamp))
      AND {column} < timezone(:tz, CAST(:end_day AS timestamp))
      {condition}
    GROUP BY 1
)
SELECT days.day, COALESCE(totals.value, 0) AS value
FROM days LEFT JOIN totals USING (day)
ORDER BY days.day
"""
_DAILY_PARAMETERS = (
    bindparam("tz", type_=String),
    bindparam("first_day", type_=Date),
    bindparam("end_day", type_=Date),
    bindparam("day_count", type_=Integer),
)
_REVENUE_PER_DAY = text(
    _DAILY_SQL.format(
        column="created_at",
        aggregate="sum(price_stars)",
        table="purchases",
        condition="AND status = 'paid'",
    )
).bindparams(*_DAILY_PARAMETERS)
_NEW_USERS_PER_DAY = text(
    _DAILY_SQL.format(column="created_at", aggregate="count(*)", table="users", condition="")
).bindparams(*_DAILY_PARAMETERS)


class ReportRepository:
    """Read-only aggregate queries inside the caller's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def window_totals(
        self, tz: str, first_days: Sequence[date], end_day: date
    ) -> list[WindowTotals]:
        """Totals of each window ``[first_day, end_day)``, all from two scans."""
        end = day_start(tz, end_day)
        starts = [day_start(tz, first) for first in first_days]
        purchase_columns: list[ColumnElement[Any]] = []
        for start in starts:
            inside = Purchase.created_at >= start
            purchase_columns += [
                func.coalesce(func.sum(Purchase.price_stars).filter(PAID, inside), 0),
                func.count().filter(PAID, inside),
                func.count().filter(_REFUNDED, inside),
                func.coalesce(func.sum(Purchase.price_stars).filter(_REFUNDED, inside), 0),
            ]
        earliest = day_start(tz, min(first_days))
        sales = (
            await self._session.execute(
                select(*purchase_columns).where(
                    Purchase.created_at >= earliest, Purchase.created_at < end
                )
            )
        ).one()
        users = (
            await self._session.execute(
                select(*(func.count().filter(User.created_at >= start) for start in starts)).where(
                    User.created_at >= earliest, User.created_at < end
                )
            )
        ).one()
        return [
            WindowTotals(
                revenue_stars=sales[4 * index],
                units=sales[4 * index + 1],
                refunded_units=sales[4 * index + 2],
                refunded_stars=sales[4 * index + 3],
                new_users=users[index],
            )
            for index in range(len(starts))
        ]

    async def revenue_per_day(self, tz: str, first_day: date, last_day: date) -> list[DailyValue]:
        """Stars of paid purchases on each local day of the period, zero days included."""
        return await self._daily(_REVENUE_PER_DAY, tz, first_day, last_day)

    async def new_users_per_day(self, tz: str, first_day: date, last_day: date) -> list[DailyValue]:
        """Users who first started the bot on each local day of the period, zeros included."""
        return await self._daily(_NEW_USERS_PER_DAY, tz, first_day, last_day)

    async def _daily(
        self, statement: TextClause, tz: str, first_day: date, last_day: date
    ) -> list[DailyValue]:
        rows = await self._session.execute(
            statement,
            {
                "tz": tz,
                "first_day": first_day,
                "end_day": last_day + timedelta(days=1),
                "day_count": (last_day - first_day).days + 1,
            },
        )
        return [DailyValue(day, int(value)) for day, value in rows]

    async def units_per_product(
        self, tz: str, first_day: date, last_day: date, top: int
    ) -> list[ProductUnits]:
        """The ``top`` best-selling products of the period by paid copies, most first."""
        units = func.count().label("units")
        rows = await self._session.execute(
            select(Product.id, Product.title, units)
            .select_from(Purchase)
            .join(Product, Product.id == Purchase.product_id)
            .where(
                PAID,
                Purchase.created_at >= day_start(tz, first_day),
                Purchase.created_at < day_start(tz, last_day + timedelta(days=1)),
            )
            .group_by(Product.id)
            # Ties in a stable order, so the chart does not reshuffle between requests.
            .order_by(units.desc(), Product.id)
            .limit(top)
        )
        return [ProductUnits(*row) for row in rows]

    async def stream(self, statement: AnySelect, chunk_rows: int) -> AsyncIterator[Sequence[Any]]:
        """Rows of ``statement`` a chunk at a time through a server-side cursor."""
        result = await self._session.stream(statement.execution_options(yield_per=chunk_rows))
        async for chunk in result.partitions():
            yield chunk
