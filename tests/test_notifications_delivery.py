"""Notifications on the real stack: ``notify()`` in a use case's transaction, then a worker
process sends through the fake Bot API, from the budget the broadcasts use.

A notice goes once, in the recipient's language and with its parameters escaped; nobody
banned or blocked gets one; a 403 flags the user as blocked, as broadcasts do; a broadcast
and notifications together stay under the one budget.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from nats.aio.client import Client
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.broadcasts import (
    ADMIN,
    add_shoppers,
    most_in_one_second,
    sender_env,
    wait_for_status_of,
    workers,
)
from tests.fakes.flood import FloodControl
from tests.fakes.telegram_api import BLOCKED_BY_USER, FakeTelegram
from tests.notifications import queue_digest, states, user_ids, wait_until_settled
from vitrina_common.db.models import BroadcastStatus, Language, NotificationState, User
from vitrina_common.sending import OutgoingMessage
from vitrina_common.services.broadcasts import Audience, ComposeBroadcasts

pytestmark = [pytest.mark.postgres, pytest.mark.nats, pytest.mark.slow]

SessionFactory = async_sessionmaker[AsyncSession]


def _now() -> datetime:
    return datetime.now(UTC)


@pytest.mark.timeout(120)
async def test_a_notice_reaches_its_user_once_in_their_language_and_no_one_unreachable(
    session_factory: SessionFactory,
    nats_client: Client,
    fake_telegram: FakeTelegram,
    stack_env: dict[str, str],
    tmp_path: Path,
) -> None:
    del nats_client  # the topology, provisioned afresh
    [english] = await add_shoppers(session_factory, 1, first=500)
    [russian] = await add_shoppers(session_factory, 1, first=600, language=Language.RU)
    banned, blocked, blocks_later = await add_shoppers(session_factory, 3, first=700)
    ids = dict(
        zip(
            (english, russian, banned, blocked, blocks_later),
            await user_ids(session_factory, [english, russian, banned, blocked, blocks_later]),
            strict=True,
        )
    )
    async with session_factory() as session, session.begin():
        await session.execute(update(User).where(User.telegram_id == banned).values(is_banned=True))
        await session.execute(
            update(User).where(User.telegram_id == blocked).values(is_blocked=True)
        )
    fake_telegram.gone_chats = {blocks_later: BLOCKED_BY_USER}

    queued = {
        chat: await queue_digest(session_factory, user, _now(), key=f"hello-{chat}")
        for chat, user in ids.items()
    }
    # The same key again (a retried use case): nothing more is queued.
    again = await queue_digest(session_factory, ids[english], _now(), key=f"hello-{english}")
    async with workers(sender_env(stack_env), tmp_path, 1):
        await wait_until_settled(session_factory)

    assert queued == {
        english: True,
        russian: True,
        banned: False,
        blocked: False,
        blocks_later: True,
    }
    assert again is False
    assert await states(session_factory) == {
        f"hello-{english}": NotificationState.SENT,
        f"hello-{russian}": NotificationState.SENT,
        f"hello-{blocks_later}": NotificationState.BLOCKED,
    }
    [to_english] = fake_telegram.messages_to(english)
    assert to_english["text"] == (
        "🆕 <b>1 new product</b> in the categories you follow:\n\n• &lt;Sun &amp; Sea&gt;"
    )
    [to_russian] = fake_telegram.messages_to(russian)
    assert to_russian["text"].startswith("🆕 <b>1 новый товар</b>")
    assert fake_telegram.messages_to(banned) == fake_telegram.messages_to(blocked) == []
    # The 403 flagged the user, as a broadcast does: no later notice is queued for them.
    assert await queue_digest(session_factory, ids[blocks_later], _now(), key="later") is False


@pytest.mark.timeout(120)
async def test_a_user_banned_after_the_notice_was_queued_gets_nothing(
    session_factory: SessionFactory,
    nats_client: Client,
    fake_telegram: FakeTelegram,
    stack_env: dict[str, str],
    tmp_path: Path,
) -> None:
    del nats_client
    [chat] = await add_shoppers(session_factory, 1)
    [user] = await user_ids(session_factory, [chat])
    assert await queue_digest(session_factory, user, _now(), key="before-ban")
    async with session_factory() as session, session.begin():
        await session.execute(update(User).where(User.id == user).values(is_banned=True))

    async with workers(sender_env(stack_env), tmp_path, 1):
        await wait_until_settled(session_factory)

    assert await states(session_factory) == {"before-ban": NotificationState.SKIPPED}
    assert fake_telegram.messages_to(chat) == []


@pytest.mark.timeout(180)
async def test_a_broadcast_and_notifications_together_stay_under_the_one_budget(
    session_factory: SessionFactory,
    nats_client: Client,
    fake_telegram: FakeTelegram,
    stack_env: dict[str, str],
    tmp_path: Path,
) -> None:
    del nats_client
    # A budget of 40/s under a limit of 50/s: a budget each would send 80/s together.
    fake_telegram.flood = FloodControl(50)
    broadcast_to = set(await add_shoppers(session_factory, 300))
    notified = await add_shoppers(session_factory, 300, first=900_000, language=Language.RU)
    for user in await user_ids(session_factory, notified):
        assert await queue_digest(session_factory, user, _now(), key=f"n-{user}")

    async with workers(sender_env(stack_env, rate_per_s=40), tmp_path, 1):
        broadcast_id, total = await ComposeBroadcasts(session_factory).start(
            OutgoingMessage(text="Sale"), Audience(language=Language.EN), ADMIN
        )
        await wait_for_status_of(session_factory, broadcast_id, BroadcastStatus.DONE, 90)
        await wait_until_settled(session_factory, 90)

    assert total == len(broadcast_to)
    assert set((await states(session_factory)).values()) == {NotificationState.SENT}
    assert fake_telegram.flood.refused == 0
    timeline = fake_telegram.flood.timeline
    assert most_in_one_second([moment for moment, _ in timeline]) <= 50
    # Notifications did not wait for the broadcast's end: both drew from the budget at once.
    broadcast_moments = [moment for moment, chat in timeline if chat in broadcast_to]
    notice_moments = [moment for moment, chat in timeline if chat in set(notified)]
    assert len(notice_moments) == len(notified)
    assert min(notice_moments) < max(broadcast_moments)
    assert min(broadcast_moments) < max(notice_moments)
