"""Digests and notices in the shopper's local time: a digest lands at the local hour the
shopper chose, across a DST change (New York moves, Moscow does not), and nothing
non-urgent is delivered inside quiet hours while urgent notices go at once.

The clock is injected, never slept on: the first tests pin the decisions (pure functions
over zoneinfo); the last drives the production path with a ``ManualClock`` over five days
in 15-minute steps, the change in the middle: follow a category (the use case schedules
the digest), the due items' runner with the worker's handlers, ``notify()``, and the
notification sender with the global budget, sending through the real Bot API client to
the fake Bot API.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import aiohttp
import pytest
import pytest_asyncio
from nats.aio.client import Client
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.broadcasts import add_shoppers
from tests.fakes.telegram_api import TOKEN, FakeTelegram
from tests.notifications import queue_digest, user_ids
from vitrina_common.clock import ManualClock
from vitrina_common.config import Settings
from vitrina_common.config_sending import SendingSettings
from vitrina_common.db.models import Category, DueItemRow, Language, Product, ProductStatus
from vitrina_common.scheduling import DueRunner
from vitrina_common.sending import BotApiTransport, GlobalBudget, Sender
from vitrina_common.services.notifications import NotificationDelivery
from vitrina_common.services.notifications.local_time import QuietHours, next_digest_at
from vitrina_common.services.notifications.preferences import (
    CategoryFollows,
    NotificationPreferences,
)
from vitrina_worker.due_handlers import due_handlers

SessionFactory = async_sessionmaker[AsyncSession]
MOSCOW = ZoneInfo("Europe/Moscow")
NEW_YORK = ZoneInfo("America/New_York")
# US clocks go forward on Sunday 2027-03-14 at 02:00 (EST, UTC-5 -> EDT, UTC-4).
BEFORE_DST = datetime(2027, 3, 12, 0, 0, tzinfo=UTC)


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2027, 3, day, hour, minute, tzinfo=UTC)


def test_the_digest_hour_stays_10_local_across_the_dst_change() -> None:
    def four_digests(zone: ZoneInfo) -> list[datetime]:
        due, found = BEFORE_DST, list[datetime]()
        for _ in range(4):
            due = next_digest_at(due, zone, 10, found[-1] if found else None)
            found.append(due)
        return found

    assert four_digests(MOSCOW) == [utc(12, 7), utc(13, 7), utc(14, 7), utc(15, 7)]
    assert four_digests(NEW_YORK) == [utc(12, 15), utc(13, 15), utc(14, 14), utc(15, 14)]
    assert {due.astimezone(NEW_YORK).hour for due in four_digests(NEW_YORK)} == {10}


def test_at_most_one_digest_a_local_day_even_when_the_hour_moves_later() -> None:
    sent_at_10 = utc(12, 7)  # 10:00 in Moscow

    # The shopper moves the digest to 15:00 at 11:00: the next comes tomorrow, not at 15:00.
    assert next_digest_at(utc(12, 8), MOSCOW, 15, sent_at_10) == utc(13, 12)
    # Nothing was sent today: today's 15:00 it is.
    assert next_digest_at(utc(12, 8), MOSCOW, 15, None) == utc(12, 12)


def test_quiet_hours_hold_a_notice_to_their_local_end_and_wrap_midnight() -> None:
    quiet = QuietHours(22, 9)

    # 23:30 EST on Saturday: released at 09:00 EDT on Sunday, after the clocks moved.
    assert quiet.release_at(utc(14, 4, 30), NEW_YORK) == utc(14, 13)
    assert quiet.release_at(utc(13, 4, 30), NEW_YORK) == utc(13, 14)
    # 08:59 Moscow is still quiet; 09:00 and 21:59 are not; 22:00 is.
    assert quiet.release_at(utc(12, 5, 59), MOSCOW) == utc(12, 6)
    assert quiet.release_at(utc(12, 6), MOSCOW) == utc(12, 6)
    assert quiet.release_at(utc(12, 18, 59), MOSCOW) == utc(12, 18, 59)
    assert quiet.contains(utc(12, 19), MOSCOW)
    # Hours that do not wrap, and no quiet hours at all.
    assert QuietHours(1, 6).release_at(utc(12, 0), MOSCOW) == utc(12, 3)
    assert not QuietHours(9, 9).contains(utc(12, 0), MOSCOW)


def test_the_worker_handles_digests() -> None:
    settings = Settings.model_validate({"bot": {"token": TOKEN}})

    assert "digest" in due_handlers(settings, async_sessionmaker(), ManualClock(BEFORE_DST))


@dataclass
class Shop:
    """The production pieces, on one manual clock."""

    clock: ManualClock
    runner: DueRunner
    delivery: NotificationDelivery
    follows: CategoryFollows
    preferences: NotificationPreferences


@pytest_asyncio.fixture
async def shop(
    session_factory: SessionFactory, nats_client: Client, fake_telegram: FakeTelegram
) -> AsyncIterator[Shop]:
    clock = ManualClock(utc(11, 0))
    settings = Settings.model_validate({"bot": {"token": TOKEN}})
    budget = await GlobalBudget.open(nats_client.jetstream(), rate_per_s=100)
    async with aiohttp.ClientSession() as http:
        sender = Sender(
            budget, BotApiTransport(http, TOKEN, fake_telegram.url), kind="notification"
        )
        yield Shop(
            clock,
            DueRunner(
                session_factory,
                due_handlers(settings, session_factory, clock),
                clock,
                settings.scheduling,
            ),
            NotificationDelivery(session_factory, sender, SendingSettings(), clock),
            CategoryFollows(session_factory, clock),
            NotificationPreferences(session_factory, clock),
        )


async def add_category(sessions: SessionFactory, title: str) -> int:
    async with sessions() as session, session.begin():
        category = Category(title=title)
        session.add(category)
        await session.flush()
        return category.id


async def add_product(sessions: SessionFactory, category_id: int, title: str, at: datetime) -> None:
    """A ready product added at ``at`` on the test's clock."""
    sha = hashlib.sha256(title.encode()).hexdigest()
    async with sessions() as session, session.begin():
        session.add(
            Product(
                category_id=category_id,
                title=title,
                price_stars=100,
                status=ProductStatus.READY,
                original_key=sha,
                original_sha256=sha,
                original_size=1000,
                original_mime="image/jpeg",
                created_at=at,
            )
        )


async def run_until_idle(shop: Shop) -> None:
    """What the worker's loops do at this moment: due items, then due notifications."""
    while (await shop.runner.run_batch()).claimed:
        pass
    while (await shop.delivery.step()).notification_id is not None:
        pass


@pytest.mark.postgres
@pytest.mark.nats
@pytest.mark.timeout(240)
async def test_digests_land_at_local_10_across_dst_and_nothing_in_quiet_hours(
    shop: Shop, session_factory: SessionFactory, fake_telegram: FakeTelegram
) -> None:
    moscow_chat, new_york_chat, idle_chat = await add_shoppers(session_factory, 3)
    await shop.preferences.set_time_zone(moscow_chat, "Europe/Moscow")
    await shop.preferences.set_time_zone(new_york_chat, "America/New_York")
    prints = await add_category(session_factory, "Prints")
    empty = await add_category(session_factory, "Nothing new here")
    assert await shop.follows.follow(moscow_chat, prints)
    assert await shop.follows.follow(new_york_chat, prints)
    assert await shop.follows.follow(idle_chat, empty)
    # One new print every day at noon UTC: every digest has news.
    for day in range(11, 16):
        await add_product(session_factory, prints, f"Print of March {day}", utc(day, 12))
    # At 23:00 EST on Friday New York is in quiet hours: one notice may wait, one may not.
    [new_york_user] = await user_ids(session_factory, [new_york_chat])
    quiet_moment = utc(13, 4)

    sent_at: dict[int, list[datetime]] = {moscow_chat: [], new_york_chat: [], idle_chat: []}
    seen = 0
    while shop.clock.now() < utc(16, 0):
        if shop.clock.now() == quiet_moment:
            await queue_digest(
                session_factory, new_york_user, quiet_moment, key="can-wait", urgent=False
            )
            await queue_digest(session_factory, new_york_user, quiet_moment, key="urgent")
        await run_until_idle(shop)
        calls = fake_telegram.calls_of("sendMessage")
        for call in calls[seen:]:
            sent_at[int(call.params["chat_id"])].append(shop.clock.now())
        seen = len(calls)
        shop.clock.advance(timedelta(minutes=15))

    assert sent_at[moscow_chat] == [utc(12, 7), utc(13, 7), utc(14, 7), utc(15, 7)]
    # Thursday's digest in Moscow found nothing yet (the first print comes at noon UTC).
    assert sent_at[new_york_chat] == [
        utc(11, 15),
        utc(12, 15),
        quiet_moment,  # the urgent one, at once
        utc(13, 14),  # the one that could wait, at 09:00 EST
        utc(13, 15),
        utc(14, 14),  # 10:00 EDT
        utc(15, 14),
    ]
    quiet = QuietHours(22, 9)
    assert not any(quiet.contains(moment, MOSCOW) for moment in sent_at[moscow_chat])
    assert [m for m in sent_at[new_york_chat] if quiet.contains(m, NEW_YORK)] == [quiet_moment]
    # Nothing new in the idle shopper's category: nothing sent, the next digest scheduled.
    assert sent_at[idle_chat] == []
    async with session_factory() as session:
        due = await session.scalars(select(DueItemRow.due_at).where(DueItemRow.kind == "digest"))
        assert sorted(due) == [utc(16, 7), utc(16, 10), utc(16, 14)]
    # Each digest lists what was added since the one before: one print.
    digests = [m["text"] for m in fake_telegram.messages_to(moscow_chat)]
    assert digests[-1].endswith("• Print of March 14 — Prints")
    assert all("<b>1 " in text for text in digests)


async def digest_due_at(sessions: SessionFactory, chat: int) -> datetime | None:
    [user] = await user_ids(sessions, [chat])
    async with sessions() as session:
        return await session.scalar(
            select(DueItemRow.due_at).where(
                DueItemRow.kind == "digest", DueItemRow.key == str(user)
            )
        )


@pytest.mark.postgres
@pytest.mark.nats
async def test_a_digest_hour_in_quiet_hours_waits_for_their_end_and_unfollowing_ends_digests(
    shop: Shop, session_factory: SessionFactory, fake_telegram: FakeTelegram
) -> None:
    [chat] = await add_shoppers(session_factory, 1, language=Language.RU)  # Europe/Moscow
    prints = await add_category(session_factory, "Prints")
    await add_product(session_factory, prints, "Old print", utc(10, 12))
    assert await shop.follows.follow(chat, prints)
    await add_product(session_factory, prints, "New print", utc(11, 3))
    assert await digest_due_at(session_factory, chat) == utc(11, 7)

    # 23:00 in Moscow, inside the default quiet hours (22:00–09:00).
    assert await shop.preferences.set_digest_hour(chat, 23)
    assert await digest_due_at(session_factory, chat) == utc(11, 20)
    shop.clock.set(utc(11, 20))
    await run_until_idle(shop)
    assert fake_telegram.messages_to(chat) == []
    shop.clock.set(utc(12, 5, 59))
    await run_until_idle(shop)
    assert fake_telegram.messages_to(chat) == []
    shop.clock.set(utc(12, 6))  # 09:00 in Moscow
    await run_until_idle(shop)
    [digest] = fake_telegram.messages_to(chat)
    # Only what came after the follow, in the shopper's language.
    assert digest["text"].endswith("• New print — Prints")
    assert digest["text"].startswith("🆕 <b>1 новый товар</b>")
    assert await digest_due_at(session_factory, chat) == utc(12, 20)

    assert await shop.follows.unfollow(chat, prints)
    assert await digest_due_at(session_factory, chat) is None
