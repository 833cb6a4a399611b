"""Pause, resume and cancel on running worker processes; a 429 pauses every replica."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from nats.aio.client import Client
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.broadcasts import (
    ADMIN,
    add_shoppers,
    recipient_states,
    sender_env,
    sends_per_chat,
    status_of,
    wait_for_sent,
    wait_for_status_of,
    workers,
)
from tests.fakes.flood import FloodControl
from tests.fakes.telegram_api import FakeTelegram, ScriptedError
from vitrina_common.db.models import BroadcastRecipient, BroadcastStatus, RecipientState
from vitrina_common.sending import OutgoingMessage
from vitrina_common.services.broadcasts import Audience, ComposeBroadcasts, ControlBroadcasts

pytestmark = [pytest.mark.postgres, pytest.mark.nats, pytest.mark.slow]

SessionFactory = async_sessionmaker[AsyncSession]
SALE = OutgoingMessage(text="Sale: <i>everything</i> half price")


async def _sent_so_far(sessions: SessionFactory, broadcast_id: int, telegram: FakeTelegram) -> int:
    """What reached Telegram once the sends in flight are over: each holds its recipient's
    row lock from its claim through the send to its commit, so locking every row of the
    broadcast waits for them (a sleep would guess how long a loaded machine takes)."""
    async with sessions() as session, session.begin():
        await session.execute(
            select(BroadcastRecipient.id)
            .where(BroadcastRecipient.broadcast_id == broadcast_id)
            .with_for_update()
        )
    return sum(sends_per_chat(telegram).values())


@pytest.mark.timeout(120)
async def test_paused_broadcast_sends_nothing_until_resumed_then_the_rest_once(
    session_factory: SessionFactory,
    nats_client: Client,
    fake_telegram: FakeTelegram,
    stack_env: dict[str, str],
    tmp_path: Path,
) -> None:
    del nats_client
    chats = await add_shoppers(session_factory, 300)
    control = ControlBroadcasts(session_factory)
    async with workers(sender_env(stack_env, rate_per_s=40), tmp_path, 1):
        broadcast_id, _ = await ComposeBroadcasts(session_factory).start(SALE, Audience(), ADMIN)
        await wait_for_sent(session_factory, broadcast_id, 40)
        assert await control.pause(broadcast_id)
        paused_at = await _sent_so_far(session_factory, broadcast_id, fake_telegram)
        await asyncio.sleep(2)

        assert await _sent_so_far(session_factory, broadcast_id, fake_telegram) == paused_at
        assert (await recipient_states(session_factory, broadcast_id))[RecipientState.PENDING] > 0
        assert not await control.pause(broadcast_id)  # already paused

        assert await control.resume(broadcast_id)
        await wait_for_status_of(session_factory, broadcast_id, BroadcastStatus.DONE, 60)

    assert sends_per_chat(fake_telegram) == dict.fromkeys(chats, 1)


@pytest.mark.timeout(120)
async def test_cancelled_broadcast_stops_for_good_and_keeps_the_rest_pending(
    session_factory: SessionFactory,
    nats_client: Client,
    fake_telegram: FakeTelegram,
    stack_env: dict[str, str],
    tmp_path: Path,
) -> None:
    del nats_client
    await add_shoppers(session_factory, 300)
    control = ControlBroadcasts(session_factory)
    async with workers(sender_env(stack_env, rate_per_s=40), tmp_path, 1):
        broadcast_id, _ = await ComposeBroadcasts(session_factory).start(SALE, Audience(), ADMIN)
        await wait_for_sent(session_factory, broadcast_id, 40)
        assert await control.cancel(broadcast_id)
        cancelled_at = await _sent_so_far(session_factory, broadcast_id, fake_telegram)
        await asyncio.sleep(2)

        assert await _sent_so_far(session_factory, broadcast_id, fake_telegram) == cancelled_at
        assert not await control.resume(broadcast_id)
        # The admin's final report: the progress message says cancelled, and the CSV
        # lists every recipient not reached.
        await fake_telegram.wait_for_call("sendDocument")
    states = await recipient_states(session_factory, broadcast_id)
    assert states[RecipientState.SENT] == cancelled_at
    assert states[RecipientState.PENDING] == 300 - cancelled_at
    assert await status_of(session_factory, broadcast_id) == BroadcastStatus.CANCELLED
    progress = fake_telegram.messages_to(ADMIN)[0]
    assert "cancelled" in progress["text"]
    assert f"left {300 - cancelled_at} of 300" in progress["text"]
    (report,) = fake_telegram.uploads_to(ADMIN, "sendDocument")
    rows = report.data.decode("utf-8-sig").splitlines()[1:]
    assert len(rows) == 300 - cancelled_at
    assert all(row.endswith(",pending,not sent: the broadcast was cancelled") for row in rows)


@pytest.mark.timeout(120)
async def test_a_429_pauses_every_replica_for_retry_after_and_loses_no_one(
    session_factory: SessionFactory,
    nats_client: Client,
    fake_telegram: FakeTelegram,
    stack_env: dict[str, str],
    tmp_path: Path,
) -> None:
    del nats_client
    chats = await add_shoppers(session_factory, 400)
    fake_telegram.flood = FloodControl(200)
    async with workers(sender_env(stack_env, rate_per_s=100), tmp_path, 2):
        broadcast_id, _ = await ComposeBroadcasts(session_factory).start(SALE, Audience(), ADMIN)
        await wait_for_sent(session_factory, broadcast_id, 100)
        fake_telegram.fail_next(
            "sendMessage", ScriptedError(429, "Too Many Requests: retry after 2", retry_after=2)
        )
        await wait_for_status_of(session_factory, broadcast_id, BroadcastStatus.DONE, 60)

    (refused,) = fake_telegram.calls_of("sendMessage:failed")
    timeline = [moment for moment, _ in fake_telegram.flood.timeline]
    during_pause = [moment for moment in timeline if refused.at < moment < refused.at + 1.9]
    # Unpaused, the replicas would send ~190 in those 1.9 s. Paused, only the sends whose
    # slots were taken before the pause reached the key still go: the 8 sender loops' in
    # flight, and those taken meanwhile (10 per 0.1 s it took a loaded machine to write it).
    assert len(during_pause) <= 30
    assert max(timeline) > refused.at + 1.9
    assert sends_per_chat(fake_telegram) == dict.fromkeys(chats, 1)
    assert len(fake_telegram.calls_of("sendMessage:failed")) == 1
