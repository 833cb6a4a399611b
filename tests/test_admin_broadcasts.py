"""The admin's broadcast dialog end to end (real bot, fake Bot API, real Postgres and NATS):
compose, buttons, audience with its count, a preview identical to what recipients get,
send now, then pause and resume from the same screen."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import func, select

from devstack.nats import NatsServer
from devstack.postgres import EmbeddedPostgres
from tests.admin_catalog_helpers import SessionFactory, admin_area, send
from tests.broadcasts import add_shoppers, recipient_states, status_of
from tests.storefront import Shop, Stocked, click, running_shop, told
from vitrina_common.db.models import (
    BroadcastStatus,
    Category,
    CategoryFollow,
    RecipientState,
    User,
)

pytestmark = [pytest.mark.postgres, pytest.mark.nats, pytest.mark.slow]

ADMIN = 3950


async def _shoppers(sessions: SessionFactory) -> Stocked:
    await add_shoppers(sessions, 3)
    return Stocked(0, [])


@pytest_asyncio.fixture(loop_scope="session")
async def shop(
    postgres: EmbeddedPostgres, migrated_template: str, nats_server: NatsServer, tmp_path: Path
) -> AsyncIterator[Shop]:
    async with running_shop(
        postgres, migrated_template, nats_server, tmp_path, admin_ids=[ADMIN], stock=_shoppers
    ) as running:
        yield running


async def _registered(sessions: SessionFactory) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(User)) or 0)


async def test_admin_composes_previews_sends_pauses_and_resumes_a_broadcast(shop: Shop) -> None:
    telegram = shop.telegram
    await admin_area(telegram, ADMIN, "Broadcasts", "New broadcast")
    await send(telegram, ADMIN, "Big sale today", "Link buttons")
    audience = await send(telegram, ADMIN, "Shop | https://example.com/shop", "Who gets it?")
    everyone = await _registered(shop.sessions)  # the shoppers and the admin
    confirm = await click(telegram, ADMIN, audience, "Everyone", f"reaches <b>{everyone}</b>")

    telegram.push_callback(ADMIN, {k: v for k, v in confirm.items() if k != "_seq"}, "preview")
    await told(telegram, ADMIN, "Big sale today")
    preview = next(
        call.params for call in telegram.calls_of("sendMessage")
        if call.params.get("text") == "Big sale today"
    )  # fmt: skip
    assert preview["parse_mode"] == "HTML"
    assert preview["reply_markup"] == {
        "inline_keyboard": [[{"text": "Shop", "url": "https://example.com/shop"}]]
    }

    running = await click(telegram, ADMIN, confirm, "Send now", f"to {everyone} shoppers: sending")
    assert await status_of(shop.sessions, 1) == BroadcastStatus.SENDING
    assert (await recipient_states(shop.sessions, 1))[RecipientState.PENDING] == everyone

    paused = await click(telegram, ADMIN, running, "Pause", "paused")
    assert await status_of(shop.sessions, 1) == BroadcastStatus.PAUSED
    await click(telegram, ADMIN, paused, "Resume", ": sending")
    assert await status_of(shop.sessions, 1) == BroadcastStatus.SENDING


async def test_admin_sends_to_the_followers_of_a_category(shop: Shop) -> None:
    telegram = shop.telegram
    chats = await add_shoppers(shop.sessions, 2, first=200_000)
    async with shop.sessions() as session, session.begin():
        prints = Category(title="Prints")
        session.add(prints)
        await session.flush()
        [follower] = await session.scalars(select(User.id).where(User.telegram_id == chats[0]))
        session.add(
            CategoryFollow(user_id=follower, category_id=prints.id, created_at=datetime.now(UTC))
        )
    await admin_area(telegram, ADMIN, "Broadcasts", "New broadcast")
    buttons = await send(telegram, ADMIN, "New prints are in", "Link buttons")
    audience = await click(telegram, ADMIN, buttons, "No buttons", "Who gets it?")
    categories = await click(
        telegram, ADMIN, audience, "Followers of a category", "Followers of which category?"
    )
    confirm = await click(telegram, ADMIN, categories, "Prints", "reaches <b>1</b>")

    await click(telegram, ADMIN, confirm, "Send now", "to 1 shoppers: sending")
    assert (await recipient_states(shop.sessions, 1))[RecipientState.PENDING] == 1
