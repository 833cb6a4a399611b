"""A shopper's notification settings through the real bot process: follow a category from
its screen, see it in the profile, pick a time zone from the list or by sharing a location,
set quiet hours; the digest is scheduled at the shopper's local hour."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import select

from devstack.nats import NatsServer
from devstack.postgres import EmbeddedPostgres
from tests.fakes.telegram_api import FakeTelegram
from tests.storefront import Shop, click, press, running_shop, screen, stock_shop, told
from vitrina_common.db.models import DueItemRow, User
from vitrina_common.services.notifications.digests import DIGEST_KIND

pytestmark = [pytest.mark.postgres, pytest.mark.nats, pytest.mark.slow]

_shoppers = itertools.count(3000)
_location_ids = itertools.count(50_000)
# Times Square.
NEW_YORK = (40.758, -73.9855)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def shop(
    postgres: EmbeddedPostgres,
    migrated_template: str,
    nats_server: NatsServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Shop]:
    async with running_shop(
        postgres, migrated_template, nats_server, tmp_path_factory.mktemp("settings"),
        admin_ids=[],
        stock=lambda sessions: stock_shop(sessions, "Landscapes", ["View 1", "View 2"]),
        # One shopper walks every settings screen faster than a person taps: the per-user
        # throttle (tests/test_throttling.py) would drop the walk's last steps.
        extra_env={"APP_CONF__BOT__THROTTLE_BURST": "1000"},
    ) as running:  # fmt: skip
        yield running


def push_location(telegram: FakeTelegram, user: int, latitude: float, longitude: float) -> None:
    telegram.push_update(
        {
            "message": {
                "message_id": next(_location_ids),
                "date": int(time.time()),
                "chat": {"id": user, "type": "private"},
                "from": {"id": user, "is_bot": False, "first_name": "Ann", "language_code": "en"},
                "location": {"latitude": latitude, "longitude": longitude},
            }
        }
    )


async def profile(shop: Shop, user: int, expect: str) -> dict[str, object]:
    shop.telegram.push_message(user, "/start")
    menu = await screen(shop.telegram, user, "Welcome to")
    return await click(shop.telegram, user, menu, "Profile", expect)


async def test_following_a_category_shows_in_the_profile_and_schedules_the_digest(
    shop: Shop,
) -> None:
    telegram, user = shop.telegram, next(_shoppers)
    telegram.push_message(user, "/start")
    menu = await screen(telegram, user, "Welcome to")
    categories = await click(telegram, user, menu, "Catalog", "Choose a category")
    products = await click(telegram, user, categories, "Landscapes", "2 images")

    await click(telegram, user, products, "Follow", "2 images")
    await _until_button(telegram, user, "Unfollow")
    async with shop.sessions() as session:
        [user_id] = await session.scalars(select(User.id).where(User.telegram_id == user))
        digest = await session.scalar(
            select(DueItemRow).where(DueItemRow.kind == DIGEST_KIND, DueItemRow.key == str(user_id))
        )
    # No zone chosen, an English-speaking shopper: 10:00 UTC.
    assert digest is not None
    assert (digest.due_at.hour, digest.due_at.minute) == (10, 0)
    settings = await profile(shop, user, "Following: Landscapes")

    text = str(settings["text"])
    assert "Time zone: UTC" in text
    assert "Quiet hours: 22:00–09:00" in text
    assert "Daily digest: 10:00" in text
    followed = await click(telegram, user, settings, "Followed categories", "Tap one to unfollow")
    await click(telegram, user, followed, "Landscapes", "You follow no category yet")
    async with shop.sessions() as session:
        due = await session.scalars(select(DueItemRow).where(DueItemRow.key == str(user_id)))
        # Nothing followed any more: no digest either.
        assert list(due) == []


async def test_time_zone_from_the_list_or_a_location_and_quiet_hours_are_saved(
    shop: Shop,
) -> None:
    telegram, user = shop.telegram, next(_shoppers)
    settings = await profile(shop, user, "Time zone: UTC")
    zones = await click(telegram, user, settings, "Time zone", "Choose your time zone")
    settings = await click(telegram, user, zones, "Europe/Moscow", "Time zone: Europe/Moscow")

    zones = await click(telegram, user, settings, "Time zone", "Choose your time zone")
    telegram.push_callback(user, _sent(zones), telegram.button(zones, "By my location"))
    await told(telegram, user, "Tap the button below to send your location")
    push_location(telegram, user, *NEW_YORK)
    await told(telegram, user, "Time zone: America/New_York.")
    settings = await profile(shop, user, "Time zone: America/New_York")
    start = await click(telegram, user, settings, "Quiet hours", "When do they start?")
    end = await click(telegram, user, start, "23:00", "Quiet from 23:00. Until when?")
    await click(telegram, user, end, "07:00", "Quiet hours: 23:00–07:00")

    # A place with no zone (the coordinates are off the map) is said so, and nothing changes.
    settings = await profile(shop, user, "Quiet hours: 23:00–07:00")
    zones = await click(telegram, user, settings, "Time zone", "Choose")
    telegram.push_callback(user, _sent(zones), telegram.button(zones, "By my location"))
    await _told_again(telegram, user, "Tap the button below", times=2)
    push_location(telegram, user, 95.0, 10.0)
    await told(telegram, user, "No time zone found for that place")
    async with shop.sessions() as session:
        saved = await session.scalar(select(User).where(User.telegram_id == user))
    assert saved is not None
    assert (saved.time_zone, saved.quiet_from_hour, saved.quiet_to_hour) == (
        "America/New_York",
        23,
        7,
    )


async def _told_again(telegram: FakeTelegram, user: int, phrase: str, times: int) -> None:
    async with asyncio.timeout(15):
        while True:
            said = [
                call
                for call in telegram.calls_of("sendMessage")
                if call.params.get("chat_id") == user and phrase in str(call.params.get("text"))
            ]
            if len(said) >= times:
                return
            await asyncio.sleep(0.05)


def _sent(message: dict[str, object]) -> dict[str, object]:
    return {key: value for key, value in message.items() if key != "_seq"}


async def _until_button(telegram: FakeTelegram, user: int, label: str) -> None:
    async with asyncio.timeout(10):
        while True:
            message = telegram.last_message_to(user)
            rows = message["reply_markup"].get("inline_keyboard", [])
            if any(label in button["text"] for row in rows for button in row):
                return
            await asyncio.sleep(0.05)


async def test_forged_hour_category_and_unfollow_buttons_change_nothing_and_raise_nothing(
    shop: Shop,
) -> None:
    """aiogram-dialog turns a Select's item into its type before any handler runs: a forged
    "²" or "x" must not escape from there as a ValueError."""
    telegram, user = shop.telegram, next(_shoppers)

    async def forge(message: dict[str, object], real_button: str, item: str) -> None:
        widget = telegram.button(message, real_button).rsplit(":", 1)[0]
        answered = len(telegram.calls_of("answerCallbackQuery"))
        press(telegram, user, message, f"{widget}:{item}")
        await telegram.wait_for_call("answerCallbackQuery", count=answered + 1)

    telegram.push_message(user, "/start")
    menu = await screen(telegram, user, "Welcome to")
    categories = await click(telegram, user, menu, "Catalog", "Choose a category")
    await forge(categories, "Landscapes", "²")
    settings = await profile(shop, user, "Quiet hours: 22:00–09:00")
    start = await click(telegram, user, settings, "Quiet hours", "When do they start?")
    await forge(start, "23:00", "²")
    settings = await profile(shop, user, "Quiet hours: 22:00–09:00")
    followed = await click(telegram, user, settings, "Followed categories", "You follow no")
    intent = telegram.button(followed, "Back").split("\x1d")[0]
    answered = len(telegram.calls_of("answerCallbackQuery"))
    press(telegram, user, followed, f"{intent}\x1dunfollow:x")
    await telegram.wait_for_call("answerCallbackQuery", count=answered + 1)
    await asyncio.sleep(0.5)

    assert shop.handler_errors() == []
    await profile(shop, user, "Quiet hours: 22:00–09:00")
