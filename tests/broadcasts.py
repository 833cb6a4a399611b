"""Helpers for broadcast tests: shoppers in bulk, worker replicas, and what the fake Bot API
saw per chat."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devstack.ports import free_port
from devstack.processes import ManagedProcess
from tests.fakes.telegram_api import FakeTelegram
from tests.services import start_service, wait_for_status
from vitrina_common.db.models import Broadcast, BroadcastStatus, Language, RecipientState, User
from vitrina_common.repositories.broadcasts import BroadcastRepository

SessionFactory = async_sessionmaker[AsyncSession]
ADMIN = 7000
FIRST_SHOPPER = 100_000
# The fake enforces this many sends a second over all chats; the senders are allowed less.
FAKE_LIMIT_PER_S = 200
# The production ratio (25 of Telegram's ~30 a second): the margin absorbs sends of a
# replica that woke late from its slot on a loaded machine.
BUDGET_PER_S = 160


def sender_env(env: dict[str, str], *, rate_per_s: float = BUDGET_PER_S) -> dict[str, str]:
    """Worker settings for quick broadcast tests."""
    return {
        **env,
        "APP_CONF__SENDING__RATE_PER_S": str(rate_per_s),
        "APP_CONF__SENDING__POLL_INTERVAL_S": "0.2",
        "APP_CONF__SENDING__PROGRESS_INTERVAL_S": "2",
        "APP_CONF__SENDING__FIRST_RETRY_S": "0.2",
        "APP_CONF__SENDING__MAX_ATTEMPTS": "3",
    }


async def add_shoppers(
    sessions: SessionFactory,
    count: int,
    *,
    first: int = FIRST_SHOPPER,
    language: Language = Language.EN,
) -> list[int]:
    """``count`` registered shoppers; their chat ids."""
    chats = list(range(first, first + count))
    async with sessions() as session, session.begin():
        await session.execute(
            insert(User), [{"telegram_id": chat, "language": language} for chat in chats]
        )
    return chats


def most_in_one_second(moments: list[float]) -> int:
    """The most of ``moments`` that fall within one second of each other."""
    ordered = sorted(moments)
    most, start = 0, 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] >= 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


def sends_per_chat(telegram: FakeTelegram, method: str = "sendMessage") -> Counter[int]:
    """Accepted ``method`` calls by chat, the admin's progress messages left out."""
    chats = (int(call.params["chat_id"]) for call in telegram.calls_of(method))
    return Counter(chat for chat in chats if chat != ADMIN)


async def recipient_states(
    sessions: SessionFactory, broadcast_id: int
) -> dict[RecipientState, int]:
    async with sessions() as session:
        return await BroadcastRepository(session).counts(broadcast_id)


async def status_of(sessions: SessionFactory, broadcast_id: int) -> BroadcastStatus:
    async with sessions() as session:
        broadcast = await session.get(Broadcast, broadcast_id)
        assert broadcast is not None
        return broadcast.status


async def wait_for_status_of(
    sessions: SessionFactory, broadcast_id: int, status: BroadcastStatus, timeout_s: float = 60
) -> None:
    async with asyncio.timeout(timeout_s):
        while True:
            if await status_of(sessions, broadcast_id) == status:
                return
            await asyncio.sleep(0.2)


async def wait_for_sent(
    sessions: SessionFactory, broadcast_id: int, at_least: int, timeout_s: float = 60
) -> None:
    async with asyncio.timeout(timeout_s):
        while True:
            if (await recipient_states(sessions, broadcast_id))[RecipientState.SENT] >= at_least:
                return
            await asyncio.sleep(0.05)


async def start_worker(env: dict[str, str], logs: Path) -> ManagedProcess:
    """A worker replica with its own health port, once ready."""
    env = {**env, "APP_CONF__WORKER__HEALTH_PORT": str(free_port())}
    process, port = await start_service("worker", env, logs)
    await wait_for_status(port, "/readyz", 200, process)
    return process


@asynccontextmanager
async def workers(
    env: dict[str, str], logs: Path, count: int
) -> AsyncIterator[list[ManagedProcess]]:
    """``count`` worker replicas, stopped on exit."""
    started = [await start_worker(env, logs / f"w{index}") for index in range(count)]
    try:
        yield started
    finally:
        for process in started:
            await process.stop(30)
