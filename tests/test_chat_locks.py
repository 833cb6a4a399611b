"""One update at a time per chat across webhook replicas: the per-chat lock in NATS KV.

Each "replica" here is its own NATS connection, as two bot processes would have.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import pytest_asyncio
from aiogram.types import Chat, PreCheckoutQuery, TelegramObject, Update, User
from nats.aio.client import Client
from nats.js.api import KeyValueConfig

from vitrina_bot.middlewares.chat_locks import KvChatLocks
from vitrina_bot.middlewares.ordering import ChatOrderingMiddleware

pytestmark = [pytest.mark.nats]

HOLD_S = 0.3


@pytest_asyncio.fixture(loop_scope="session")
async def replicas(
    bot_replica_connections: tuple[Client, Client],
) -> tuple[KvChatLocks, KvChatLocks]:
    first, second = bot_replica_connections
    return await KvChatLocks.create(first.jetstream()), await KvChatLocks.create(second.jetstream())


async def _hold(
    locks: KvChatLocks, chat: int, name: str, log: list[str], inside: asyncio.Event | None = None
) -> None:
    async with locks.hold(chat):
        log.append(f"{name} in")
        if inside is not None:
            inside.set()
        await asyncio.sleep(HOLD_S)
        log.append(f"{name} out")


async def test_a_chat_is_held_by_one_replica_at_a_time(
    replicas: tuple[KvChatLocks, KvChatLocks],
) -> None:
    first, second = replicas
    log: list[str] = []

    inside = asyncio.Event()
    holder = asyncio.create_task(_hold(first, 101, "first", log, inside))
    await inside.wait()
    await _hold(second, 101, "second", log)
    await holder

    assert log == ["first in", "first out", "second in", "second out"]


async def test_different_chats_do_not_wait_for_each_other(
    replicas: tuple[KvChatLocks, KvChatLocks],
) -> None:
    first, second = replicas
    a_in, b_in = asyncio.Event(), asyncio.Event()

    async def hold_until_the_other_is_in(
        locks: KvChatLocks, chat: int, mine: asyncio.Event, other: asyncio.Event
    ) -> None:
        async with locks.hold(chat):
            mine.set()
            # Both inside at once, however slow the machine: had the second chat waited
            # for the first's lock, this would wait out the timeout.
            await asyncio.wait_for(other.wait(), 10)

    await asyncio.gather(
        hold_until_the_other_is_in(first, 201, a_in, b_in),
        hold_until_the_other_is_in(second, -100202, b_in, a_in),
    )


async def test_a_lock_left_by_a_dead_replica_is_freed_by_the_ttl(nats_client: Client) -> None:
    js = nats_client.jetstream()
    await js.create_key_value(KeyValueConfig(bucket="chat-locks-short", ttl=1.0))
    locks = await KvChatLocks.create(js, bucket="chat-locks-short")
    dead_replicas_lock = await js.key_value("chat-locks-short")
    await dead_replicas_lock.create("301", b"")  # taken, never released: the replica died

    waited = asyncio.get_running_loop().time()
    async with asyncio.timeout(20), locks.hold(301):
        waited = asyncio.get_running_loop().time() - waited

    assert 0.5 < waited < 15


async def test_updates_of_one_chat_on_two_replicas_run_one_after_the_other(
    replicas: tuple[KvChatLocks, KvChatLocks],
) -> None:
    on_first, on_second = (ChatOrderingMiddleware(locks) for locks in replicas)
    log: list[str] = []
    inside = asyncio.Event()

    def handler(name: str) -> Any:
        async def handle(_event: TelegramObject, _data: dict[str, Any]) -> None:
            log.append(f"{name} in")
            inside.set()
            await asyncio.sleep(HOLD_S)
            log.append(f"{name} out")

        return handle

    def data() -> dict[str, Any]:
        return {"event_chat": Chat(id=401, type="private")}

    tap = asyncio.create_task(on_first(handler("tap"), Update(update_id=1), data()))
    await inside.wait()
    await on_second(handler("next tap"), Update(update_id=2), data())
    await tap

    assert log == ["tap in", "tap out", "next tap in", "next tap out"]


async def test_a_pre_checkout_never_waits_for_another_replicas_lock(
    replicas: tuple[KvChatLocks, KvChatLocks],
) -> None:
    on_first, on_second = (ChatOrderingMiddleware(locks) for locks in replicas)
    log: list[str] = []
    shopper = User(id=501, is_bot=False, first_name="Ann")
    pre_checkout = Update(
        update_id=2,
        pre_checkout_query=PreCheckoutQuery(
            id="q-1", from_user=shopper, currency="XTR", total_amount=50, invoice_payload="o"
        ),
    )

    inside = asyncio.Event()

    async def tap(_event: TelegramObject, _data: dict[str, Any]) -> None:
        log.append("tap in")
        inside.set()
        await asyncio.sleep(HOLD_S)
        log.append("tap out")

    async def answer(_event: TelegramObject, _data: dict[str, Any]) -> None:
        log.append("pre-checkout answered")

    held = asyncio.create_task(on_first(tap, Update(update_id=1), {"event_from_user": shopper}))
    await inside.wait()
    await on_second(answer, pre_checkout, {"event_from_user": shopper})
    await held

    assert log == ["tap in", "pre-checkout answered", "tap out"]
