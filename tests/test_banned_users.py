"""A user the shop banned gets no answer at all, except where money is at stake."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import update

from devstack.nats import NatsServer
from devstack.postgres import EmbeddedPostgres
from tests.storefront import Shop, running_shop, screen, stock_shop
from vitrina_common.db.models import User

pytestmark = [pytest.mark.postgres, pytest.mark.nats, pytest.mark.slow]

ADMIN = 2900
# Longer than the bot's per-process user context cache, so a ban made in the database by
# someone else (another replica, an admin) is seen.
CONTEXT_CACHE_S = 3.5


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def shop(
    postgres: EmbeddedPostgres,
    migrated_template: str,
    nats_server: NatsServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Shop]:
    async with running_shop(
        postgres, migrated_template, nats_server, tmp_path_factory.mktemp("banned"),
        admin_ids=[ADMIN],
        stock=lambda sessions: stock_shop(sessions, "Banned", ["One"]),
    ) as running:  # fmt: skip
        yield running


async def _ban(shop: Shop, telegram_id: int, banned: bool = True) -> None:
    async with shop.sessions() as session, session.begin():
        await session.execute(
            update(User).where(User.telegram_id == telegram_id).values(is_banned=banned)
        )
    await asyncio.sleep(CONTEXT_CACHE_S)


async def test_a_banned_user_gets_no_answer_and_an_unbanned_one_does_again(shop: Shop) -> None:
    user = 2001
    shop.telegram.push_message(user, "/start")
    await screen(shop.telegram, user, "Welcome to")
    await _ban(shop, user)
    seen = len(shop.telegram.messages_to(user))

    shop.telegram.push_message(user, "/start")
    await asyncio.sleep(1.5)

    assert len(shop.telegram.messages_to(user)) == seen
    await _ban(shop, user, banned=False)
    shop.telegram.push_message(user, "/start")
    async with asyncio.timeout(15):
        while len(shop.telegram.messages_to(user)) == seen:  # noqa: ASYNC110  (another process)
            await asyncio.sleep(0.05)


async def test_a_banned_users_pre_checkout_is_still_answered(shop: Shop) -> None:
    user = 2002
    shop.telegram.push_message(user, "/start")
    await screen(shop.telegram, user, "Welcome to")
    await _ban(shop, user)
    answered = len(shop.telegram.calls_of("answerPreCheckoutQuery"))

    shop.telegram.push_pre_checkout(user, "no-such-order", 50)

    await shop.telegram.wait_for_call("answerPreCheckoutQuery", count=answered + 1)
    assert shop.telegram.calls_of("answerPreCheckoutQuery")[-1].params["ok"] is False


async def test_an_admin_cannot_be_banned_out_of_the_shop(shop: Shop) -> None:
    shop.telegram.push_message(ADMIN, "/start")
    await screen(shop.telegram, ADMIN, "Welcome to")
    await _ban(shop, ADMIN)
    shop.telegram.push_message(ADMIN, "/admin")

    await screen(shop.telegram, ADMIN, "Shop admin")
