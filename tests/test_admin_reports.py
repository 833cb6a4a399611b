"""Sales & exports, end to end: the summary on the screen, charts and CSV files made by the
real worker and sent by the real bot; to anyone but an admin none of it exists."""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from sqlalchemy import func, select

from devstack.nats import NatsServer
from devstack.postgres import EmbeddedPostgres
from tests.fakes.telegram_api import FakeTelegram, Upload
from tests.sales_data import SalesHistory
from tests.services import nats_settings
from tests.storefront import (
    SessionFactory,
    Shop,
    Stocked,
    click,
    press,
    running_shop,
    screen,
    text_of,
    told,
)
from vitrina_common.db.models import OutboxMessage, User
from vitrina_common.messaging.connection import connect_nats
from vitrina_common.messaging.provisioning import provision_jetstream
from vitrina_common.messaging.topology import ARTIFACTS_BUCKET

pytestmark = [pytest.mark.postgres, pytest.mark.nats, pytest.mark.slow]

ADMIN = 6900
SHOPPER = 6001
ZONE = "Europe/Moscow"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TREE = 'Ёлка; "best"'
FORMULA = '=HYPERLINK("http://evil")'


def moscow_midnight() -> datetime:
    """Today's first instant in Moscow, in UTC."""
    today = datetime.now(ZoneInfo(ZONE)).date()
    return datetime.combine(today, time(), tzinfo=ZoneInfo(ZONE)).astimezone(UTC)


async def stock_history(sessions: SessionFactory) -> Stocked:
    """Sales around Moscow's midnight; see the expected numbers in the summary test."""
    history, midnight = SalesHistory(sessions), moscow_midnight()
    tree = await history.product(TREE, price=70)
    formula = await history.product(FORMULA, price=30)
    old = await history.user(6101, midnight - timedelta(days=40), username="old_buyer")
    recent = await history.user(6102, midnight - timedelta(days=3), username="-recent")
    await history.user(6103, midnight + timedelta(minutes=1), username="newcomer")
    minute = timedelta(minutes=1)
    await history.purchase(old, tree, midnight + minute, 70)
    await history.purchase(recent, tree, midnight + 2 * minute, 70, refunded=True)
    # 23:59 yesterday in Moscow (20:59 UTC): last 7 days, not today.
    await history.purchase(recent, formula, midnight - minute, 30)
    await history.purchase(recent, formula, midnight - timedelta(days=2), 30)
    await history.purchase(old, tree, midnight - timedelta(days=20), 70)
    await history.purchase(old, formula, midnight - timedelta(days=60), 30)
    return Stocked(0, [tree, formula])


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def shop(
    postgres: EmbeddedPostgres,
    migrated_template: str,
    nats_server: NatsServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Shop]:
    async with running_shop(
        postgres, migrated_template, nats_server, tmp_path_factory.mktemp("admin-reports"),
        admin_ids=[ADMIN], stock=stock_history, with_worker=True,
        # Two deliveries, so a job that keeps failing is given up within seconds.
        extra_env={"APP_CONF__SHOP__TIMEZONE": ZONE, "APP_CONF__WORKER__MAX_DELIVER": "2"},
    ) as running:  # fmt: skip
        yield running


async def reports_screen(telegram: FakeTelegram) -> dict[str, Any]:
    telegram.push_message(ADMIN, "/admin")
    menu = await screen(telegram, ADMIN, "Shop admin")
    return await click(telegram, ADMIN, menu, "Sales & exports", "Sales")


async def uploaded(
    telegram: FakeTelegram, method: str, count: int, timeout_s: float = 60
) -> list[Upload]:
    async with asyncio.timeout(timeout_s):
        while len(telegram.uploads_to(ADMIN, method)) < count:  # noqa: ASYNC110  (another process)
            await asyncio.sleep(0.1)
    return telegram.uploads_to(ADMIN, method)[:count]


def csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith(codecs.BOM_UTF8)
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))


async def test_summary_shows_revenue_units_and_new_users_by_moscow_days(shop: Shop) -> None:
    summary = text_of(await reports_screen(shop.telegram))

    assert f"days in {ZONE}" in summary
    assert "<b>Today</b>: 70 ⭐ · 1 sold · 1 new users" in summary
    assert "<b>Last 7 days</b>: 130 ⭐ · 3 sold · 2 new users" in summary
    assert "<b>Last 30 days</b>: 200 ⭐ · 4 sold · 2 new users" in summary
    assert "today 1 (70 ⭐) · 7 days 1 (70 ⭐) · 30 days 1 (70 ⭐)" in summary


async def test_seven_day_charts_arrive_as_three_pngs_with_captions(shop: Shop) -> None:
    reports = await reports_screen(shop.telegram)

    after = await click(shop.telegram, ADMIN, reports, "7 days", "Charts for 7 days")

    assert "⏳" in text_of(after)
    charts = await uploaded(shop.telegram, "sendPhoto", 3)
    assert all(chart.data.startswith(PNG_SIGNATURE) for chart in charts)
    captions = [chart.caption or "" for chart in charts]
    assert captions[0].startswith("📈 Revenue")
    assert ": 130 ⭐" in captions[0]
    assert captions[1].startswith("🏆 Best sellers")
    assert "(top 2)" in captions[1]
    assert captions[2].startswith("👥 New users")
    assert captions[2].endswith(": 2")


async def test_purchases_export_is_a_csv_for_excel_with_every_purchase(shop: Shop) -> None:
    reports = await reports_screen(shop.telegram)

    await click(shop.telegram, ADMIN, reports, "Purchases", "purchases CSV is being prepared")

    (export,) = await uploaded(shop.telegram, "sendDocument", 1)
    rows = csv_rows(export.data)
    assert rows[0][:4] == ["id", "created_at", "status", "price_stars"]
    assert len(rows) == 1 + 6
    assert export.caption == f"🧾 Purchases: 6 rows. Times in {ZONE}."
    assert {row[5] for row in rows[1:]} == {TREE, "'" + FORMULA}
    assert [row[2] for row in rows[1:]].count("refunded") == 1
    assert "'-recent" in {row[7] for row in rows[1:]}
    assert export.filename is not None
    assert export.filename.startswith("purchases-")


async def test_products_and_users_exports_count_their_rows(shop: Shop) -> None:
    async with shop.sessions() as session:
        users = await session.scalar(select(func.count()).select_from(User))
    reports = await reports_screen(shop.telegram)
    sent_before = len(shop.telegram.uploads_to(ADMIN, "sendDocument"))

    await click(shop.telegram, ADMIN, reports, "⬇️ Products", "products CSV is being prepared")
    products = (await uploaded(shop.telegram, "sendDocument", sent_before + 1))[-1]
    reports = await screen(shop.telegram, ADMIN, "Sales")
    await click(shop.telegram, ADMIN, reports, "⬇️ Users", "users CSV is being prepared")
    people = (await uploaded(shop.telegram, "sendDocument", sent_before + 2))[-1]

    product_rows = csv_rows(products.data)
    assert products.caption == f"🖼 Products: 2 rows. Times in {ZONE}."
    assert [row[1] for row in product_rows[1:]] == [TREE, "'" + FORMULA]
    # Sold and revenue count paid copies only (the refunded one is left out).
    assert [row[6:8] for row in product_rows[1:]] == [["2", "140"], ["3", "90"]]
    user_rows = csv_rows(people.data)
    assert people.caption == f"👥 Users: {users} rows. Times in {ZONE}."
    assert len(user_rows) == 1 + (users or 0)


async def test_forged_report_buttons_from_a_shopper_make_nothing(shop: Shop) -> None:
    reports = await reports_screen(shop.telegram)
    shop.telegram.push_message(SHOPPER, "/start")
    shopper_menu = await screen(shop.telegram, SHOPPER, "Welcome to")
    async with shop.sessions() as session:
        queued = await session.scalar(select(func.count()).select_from(OutboxMessage))
    uploads = len(shop.telegram.uploads)

    for label in ("7 days", "90 days", "⬇️ Purchases", "⬇️ Users"):
        press(shop.telegram, SHOPPER, shopper_menu, shop.telegram.button(reports, label))
    await asyncio.sleep(3)

    async with shop.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == queued
    assert len(shop.telegram.uploads) == uploads
    assert all("Sales" not in text_of(m) for m in shop.telegram.messages_to(SHOPPER))


@contextlib.asynccontextmanager
async def artifacts_bucket_gone(shop: Shop) -> AsyncIterator[None]:
    """The worker cannot store any file (the bucket is deleted) until the block ends."""
    client = await connect_nats(nats_settings(shop.nats_url), name="test-admin-reports")
    try:
        await client.jetstream().delete_object_store(ARTIFACTS_BUCKET.name)
        yield
    finally:
        await provision_jetstream(client.jetstream())
        await client.close()


async def test_charts_the_worker_gives_up_on_are_reported_to_the_admin(shop: Shop) -> None:
    reports = await reports_screen(shop.telegram)
    photos = len(shop.telegram.uploads_to(ADMIN, "sendPhoto"))

    async with artifacts_bucket_gone(shop):
        await click(shop.telegram, ADMIN, reports, "30 days", "Charts for 30 days")
        notice = await told(shop.telegram, ADMIN, "could not be drawn", timeout_s=30)

    assert notice.startswith("❌ The charts for ")
    assert len(shop.telegram.uploads_to(ADMIN, "sendPhoto")) == photos


async def test_an_export_the_worker_gives_up_on_is_reported_to_the_admin(shop: Shop) -> None:
    reports = await reports_screen(shop.telegram)
    documents = len(shop.telegram.uploads_to(ADMIN, "sendDocument"))

    async with artifacts_bucket_gone(shop):
        await click(shop.telegram, ADMIN, reports, "⬇️ Users", "users CSV is being prepared")
        await told(shop.telegram, ADMIN, "The users CSV could not be made.", timeout_s=30)

    assert len(shop.telegram.uploads_to(ADMIN, "sendDocument")) == documents
