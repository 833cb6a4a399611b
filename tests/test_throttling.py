"""A shopper sending faster than the limit is slowed down; the shop's admins and money are not."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from devstack.nats import NatsServer
from devstack.postgres import EmbeddedPostgres
from tests.storefront import Shop, press, running_shop, screen, stock_shop

pytestmark = [pytest.mark.postgres, pytest.mark.nats, pytest.mark.slow]

ADMIN = 3900
BURST = 3
# Practically no refill during a test: what passes is the burst, nothing more.
LIMITS = {"APP_CONF__BOT__THROTTLE_BURST": str(BURST), "APP_CONF__BOT__THROTTLE_RATE": "0.001"}
SETTLE_S = 1.5


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def shop(
    postgres: EmbeddedPostgres,
    migrated_template: str,
    nats_server: NatsServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Shop]:
    async with running_shop(
        postgres, migrated_template, nats_server, tmp_path_factory.mktemp("throttling"),
        admin_ids=[ADMIN],
        stock=lambda sessions: stock_shop(sessions, "Throttled", ["One"]),
        extra_env=LIMITS,
    ) as running:  # fmt: skip
        yield running


def _menus(shop: Shop, user: int) -> int:
    sent = [call.params for call in shop.telegram.calls_of("sendMessage")]
    return sum(params["chat_id"] == user and "Welcome to" in params["text"] for params in sent)


async def _menus_after_starts(shop: Shop, user: int, starts: int, expected: int) -> int:
    """Send ``starts`` /start at once; wait for ``expected`` menus, then a while for more."""
    for _ in range(starts):
        shop.telegram.push_message(user, "/start")
    async with asyncio.timeout(20):
        while _menus(shop, user) < expected:  # noqa: ASYNC110  (the bot is another process)
            await asyncio.sleep(0.05)
    await asyncio.sleep(SETTLE_S)
    return _menus(shop, user)


async def test_a_shopper_flooding_the_bot_is_answered_only_up_to_the_burst(shop: Shop) -> None:
    assert await _menus_after_starts(shop, 3001, starts=BURST + 5, expected=BURST) == BURST


async def test_a_throttled_shoppers_button_press_is_told_to_slow_down(shop: Shop) -> None:
    user = 3002
    await _menus_after_starts(shop, user, starts=BURST, expected=BURST)
    menu = await screen(shop.telegram, user, "Welcome to")
    answered = len(shop.telegram.calls_of("answerCallbackQuery"))

    press(shop.telegram, user, menu, shop.telegram.button(menu, "Help"))

    await shop.telegram.wait_for_call("answerCallbackQuery", count=answered + 1)
    answer = shop.telegram.calls_of("answerCallbackQuery")[-1].params
    assert answer.get("text") == "Too many requests, please slow down."


async def test_a_throttled_shoppers_pre_checkout_is_still_answered(shop: Shop) -> None:
    user = 3003
    await _menus_after_starts(shop, user, starts=BURST, expected=BURST)
    answered = len(shop.telegram.calls_of("answerPreCheckoutQuery"))

    shop.telegram.push_pre_checkout(user, "no-such-order", 50)

    await shop.telegram.wait_for_call("answerPreCheckoutQuery", count=answered + 1)


async def test_the_shops_admin_is_never_throttled(shop: Shop) -> None:
    starts = BURST + 5
    assert await _menus_after_starts(shop, ADMIN, starts=starts, expected=starts) == starts
