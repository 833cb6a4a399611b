"""Sales numbers come from SQL aggregates over local calendar days of the shop's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.fakes.telegram_api import TOKEN
from tests.sales_data import SalesHistory
from vitrina_common.config import Settings, load_settings
from vitrina_common.repositories.reports import DailyValue, ProductUnits, WindowTotals
from vitrina_common.services.reports import Period, ReportQueries

pytestmark = pytest.mark.postgres

SessionFactory = async_sessionmaker[AsyncSession]
MOSCOW = "Europe/Moscow"  # UTC+3 all year
# 15:00 in Moscow on Monday 10 March 2025.
NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


def utc(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=UTC)


def queries(sessions: SessionFactory, timezone: str, now: datetime = NOW) -> ReportQueries:
    return ReportQueries(sessions, timezone, clock=lambda: now)


async def test_a_purchase_at_23_30_utc_counts_for_the_next_day_in_moscow(
    session_factory: SessionFactory,
) -> None:
    history = SalesHistory(session_factory)
    buyer = await history.user(6001, utc(1, 10))
    product = await history.product("Night train", price=70)
    await history.purchase(buyer, product, utc(9, 23, 30), 70)

    in_moscow = await queries(session_factory, MOSCOW).summary()
    in_utc = await queries(session_factory, "UTC").summary()

    assert (in_moscow.today.revenue_stars, in_moscow.today.units) == (70, 1)
    assert (in_utc.today.revenue_stars, in_utc.today.units) == (0, 0)
    assert in_utc.week.revenue_stars == 70


async def test_summary_windows_start_at_local_midnight_and_keep_refunds_apart(
    session_factory: SessionFactory,
) -> None:
    history = SalesHistory(session_factory)
    product = await history.product("Harbour", price=10)
    old_buyer = await history.user(6002, utc(1, 10, month=1))
    new_buyer = await history.user(6003, utc(10, 9))
    week_old_buyer = await history.user(6004, utc(3, 21))  # 4 March 00:00 in Moscow
    await history.purchase(new_buyer, product, utc(10, 9), 40)
    await history.purchase(new_buyer, product, utc(10, 9, 5), 25, refunded=True)
    # 4 March 00:00 in Moscow: the first instant of the 7-day window (4–10 March).
    await history.purchase(old_buyer, product, utc(3, 21), 100)
    # 3 March 23:59 in Moscow: outside the 7 days, inside the 30.
    await history.purchase(old_buyer, product, utc(3, 20, 59), 1000)
    await history.purchase(old_buyer, product, utc(20, 12, month=2), 7, refunded=True)
    # 8 February in Moscow: 31 days ago, outside every window.
    await history.purchase(old_buyer, product, utc(8, 12, month=2), 5000)
    # Tomorrow (a clock in the past must not count the future).
    await history.purchase(old_buyer, product, utc(10, 21, 30), 9000)

    summary = await queries(session_factory, MOSCOW).summary()

    assert summary.timezone == MOSCOW
    assert summary.today == WindowTotals(40, 1, 1, 25, 1)
    assert summary.week == WindowTotals(140, 2, 1, 25, 2)
    assert summary.month == WindowTotals(1140, 3, 2, 32, 2)
    assert week_old_buyer


async def test_revenue_per_day_has_every_day_of_the_period_zero_days_included(
    session_factory: SessionFactory,
) -> None:
    history = SalesHistory(session_factory)
    buyer = await history.user(6005, utc(1, 10))
    product = await history.product("Lighthouse", price=30)
    await history.purchase(buyer, product, utc(9, 23, 30), 30)  # 10 March in Moscow
    await history.purchase(buyer, product, utc(10, 8), 20)
    await history.purchase(buyer, product, utc(6, 12), 15)
    await history.purchase(buyer, product, utc(6, 13), 99, refunded=True)
    reports = queries(session_factory, MOSCOW)

    revenue = await reports.revenue_per_day(reports.period(7))

    assert revenue == [
        DailyValue(date(2025, 3, 4), 0),
        DailyValue(date(2025, 3, 5), 0),
        DailyValue(date(2025, 3, 6), 15),
        DailyValue(date(2025, 3, 7), 0),
        DailyValue(date(2025, 3, 8), 0),
        DailyValue(date(2025, 3, 9), 0),
        DailyValue(date(2025, 3, 10), 50),
    ]


async def test_an_empty_period_is_all_zero_days(session_factory: SessionFactory) -> None:
    reports = queries(session_factory, MOSCOW)
    period = reports.period(90)

    revenue = await reports.revenue_per_day(period)
    users = await reports.new_users_per_day(period)

    assert [point.day for point in revenue] == [
        period.first_day + timedelta(days=offset) for offset in range(90)
    ]
    assert {point.value for point in revenue} == {point.value for point in users} == {0}
    assert await reports.units_per_product(period) == []


async def test_days_follow_the_zone_across_a_daylight_saving_change(
    session_factory: SessionFactory,
) -> None:
    history = SalesHistory(session_factory)
    buyer = await history.user(6006, utc(1, 10))
    product = await history.product("Spring", price=5)
    # Berlin moves to UTC+2 on 30 March: 22:30 UTC that day is 00:30 on the 31st.
    await history.purchase(buyer, product, utc(30, 22, 30), 5)
    # Before the change (UTC+1): 22:30 UTC on the 29th is 23:30 on the 29th.
    await history.purchase(buyer, product, utc(29, 22, 30), 7)
    reports = queries(session_factory, "Europe/Berlin", now=utc(31, 12))

    revenue = await reports.revenue_per_day(Period(date(2025, 3, 29), date(2025, 3, 31)))

    assert revenue == [
        DailyValue(date(2025, 3, 29), 7),
        DailyValue(date(2025, 3, 30), 0),
        DailyValue(date(2025, 3, 31), 5),
    ]


async def test_new_users_per_day_counts_first_starts_by_local_day(
    session_factory: SessionFactory,
) -> None:
    history = SalesHistory(session_factory)
    await history.user(6007, utc(9, 22))  # 10 March 01:00 in Moscow
    await history.user(6008, utc(10, 11))
    await history.user(6009, utc(8, 20))  # 8 March 23:00 in Moscow
    await history.user(6010, utc(1, 10))  # before the period
    reports = queries(session_factory, MOSCOW)

    users = await reports.new_users_per_day(Period(date(2025, 3, 8), date(2025, 3, 10)))

    assert users == [
        DailyValue(date(2025, 3, 8), 1),
        DailyValue(date(2025, 3, 9), 0),
        DailyValue(date(2025, 3, 10), 2),
    ]


async def test_units_per_product_ranks_paid_copies_of_the_period_and_keeps_the_top(
    session_factory: SessionFactory,
) -> None:
    history = SalesHistory(session_factory)
    buyer = await history.user(6011, utc(1, 10))
    titles = ["Ёлка", "Bridge", "Canal", "Dunes"]
    products = {title: await history.product(title) for title in titles}
    sales = {"Ёлка": 3, "Bridge": 1, "Canal": 3, "Dunes": 2}
    for title, count in sales.items():
        for _ in range(count):
            await history.purchase(buyer, products[title], utc(9, 12), 50)
    await history.purchase(buyer, products["Bridge"], utc(9, 12), 50, refunded=True)
    await history.purchase(buyer, products["Bridge"], utc(9, 12), 50, refunded=True)
    await history.purchase(buyer, products["Bridge"], utc(1, 12), 50)  # before the period
    reports = queries(session_factory, MOSCOW)

    ranked = await reports.units_per_product(reports.period(7), top=3)

    assert ranked == [
        ProductUnits(products["Ёлка"], "Ёлка", 3),
        ProductUnits(products["Canal"], "Canal", 3),
        ProductUnits(products["Dunes"], "Dunes", 2),
    ]


@pytest.mark.parametrize("name", ["Mars/Olympus", "../../etc/passwd", "", "UTC+3"])
def test_shop_time_zone_must_be_an_iana_name(
    name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("APP_CONF__BOT__TOKEN", TOKEN)
    monkeypatch.setenv("APP_CONF__SHOP__TIMEZONE", name)

    with pytest.raises(SystemExit):
        load_settings("bot", Settings)

    assert capsys.readouterr().err == (
        "bot: config error: APP_CONF__SHOP__TIMEZONE is invalid: "
        "must be an IANA time zone name, e.g. Europe/Moscow or UTC\n"
    )


def test_shop_time_zone_defaults_to_utc_and_takes_iana_names(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("APP_CONF__BOT__TOKEN", TOKEN)
    assert load_settings("bot", Settings).shop.timezone == "UTC"

    monkeypatch.setenv("APP_CONF__SHOP__TIMEZONE", "America/Sao_Paulo")

    assert load_settings("bot", Settings).shop.timezone == "America/Sao_Paulo"
