"""Webhook replicas keep copies of a chat's FSM records that the chat's lock proves current:
a replica serving the chat again reads nothing from NATS, and never a stale record.

Each "replica" here is its own NATS connection, locks, storage and ordering middleware, as
two bot processes would have.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, cast

import pytest
from aiogram.fsm.storage.base import StorageKey
from aiogram.types import Chat, TelegramObject, Update
from nats.aio.client import Client
from nats.js.api import KeyValueConfig

from vitrina_bot.middlewares.chat_locks import HELD, KvChatLocks
from vitrina_bot.middlewares.ordering import ChatOrderingMiddleware
from vitrina_bot.storage import NatsKVStorage
from vitrina_bot.storage.chat_copies import ChatCopies

pytestmark = [pytest.mark.nats]

_update_ids = itertools.count(1)


@dataclass
class Replica:
    storage: NatsKVStorage
    ordering: ChatOrderingMiddleware
    reads: list[str]

    async def tap(self, chat: int) -> None:
        """One update of ``chat`` that counts itself in the chat's FSM data."""

        async def count_the_tap(_event: TelegramObject, _data: dict[str, Any]) -> None:
            key = StorageKey(bot_id=1, chat_id=chat, user_id=chat)
            taps = (await self.storage.get_data(key)).get("taps", 0)
            await asyncio.sleep(0.01)  # another replica's tap arrives meanwhile
            await self.storage.set_data(key, {"taps": taps + 1})

        update = Update(update_id=next(_update_ids))
        await self.ordering(count_the_tap, update, {"event_chat": Chat(id=chat, type="private")})


def _counting_reads(storage: NatsKVStorage, reads: list[str]) -> None:
    get = storage.kv.get

    async def counted_get(key: str, *args: Any, **kwargs: Any) -> Any:
        reads.append(key)
        return await get(key, *args, **kwargs)

    storage.kv.get = counted_get  # type: ignore[method-assign]


async def _replica(client: Client, locks_bucket: str = "chat-locks") -> Replica:
    js = client.jetstream()
    copies = ChatCopies()
    storage = await NatsKVStorage.create(js, chat_copies=copies)
    reads: list[str] = []
    _counting_reads(storage, reads)
    locks = await KvChatLocks.create(js, bucket=locks_bucket)
    return Replica(storage, ChatOrderingMiddleware(locks, copies), reads)


async def _taps_counted(replica: Replica, chat: int) -> int:
    stored = await replica.storage.kv.get(
        replica.storage.kv_key(StorageKey(bot_id=1, chat_id=chat, user_id=chat), "data")
    )
    return int(replica.storage.json_loads(stored.value or b"{}")["taps"])


async def test_taps_alternating_between_replicas_never_lose_a_change(
    bot_replica_connections: tuple[Client, Client],
) -> None:
    first, second = [await _replica(client) for client in bot_replica_connections]

    for _ in range(3):
        await first.tap(601)
        await second.tap(601)
        await second.tap(601)

    assert await _taps_counted(first, 601) == 9


async def test_taps_racing_on_two_replicas_never_lose_a_change(
    bot_replica_connections: tuple[Client, Client],
) -> None:
    first, second = [await _replica(client) for client in bot_replica_connections]

    await asyncio.gather(*(replica.tap(602) for replica in (first, second) * 5))

    assert await _taps_counted(first, 602) == 10


async def test_a_replica_serving_the_chat_again_reads_nothing_from_nats(
    bot_replica_connections: tuple[Client, Client],
) -> None:
    first, _ = [await _replica(client) for client in bot_replica_connections]
    await first.tap(603)
    first.reads.clear()

    await first.tap(603)

    assert first.reads == []
    assert await _taps_counted(first, 603) == 2


async def test_a_lock_left_by_a_dead_replica_is_taken_after_the_ttl_and_the_chat_reread(
    nats_client: Client,
) -> None:
    # A bucket of its own with a short TTL (so on the provisioning user's connection; the
    # replicas' state is their own objects).
    js = nats_client.jetstream()
    await js.create_key_value(KeyValueConfig(bucket="chat-locks-dying", ttl=1.0))
    first, second = [await _replica(nats_client, "chat-locks-dying") for _ in range(2)]
    await first.tap(604)
    await second.tap(604)  # the chat's record changed behind the first replica's back
    # A third replica takes the chat's lock and dies holding it.
    dead = await js.key_value("chat-locks-dying")
    entry = await dead.get("604")
    await dead.update("604", HELD, last=entry.revision)
    first.reads.clear()

    waited = asyncio.get_running_loop().time()
    async with asyncio.timeout(20):
        await first.tap(604)
    waited = asyncio.get_running_loop().time() - waited

    assert 0.5 < waited < 15
    assert first.reads  # its copies were not proven current: read again
    assert await _taps_counted(first, 604) == 3


async def test_a_dialog_background_update_after_the_lock_reads_the_bucket(
    bot_replica_connections: tuple[Client, Client],
) -> None:
    first, _ = [await _replica(client) for client in bot_replica_connections]
    chat = Chat(id=605, type="private")
    released = asyncio.Event()
    background: list[asyncio.Task[None]] = []

    async def read_data(_event: TelegramObject, _data: dict[str, Any]) -> None:
        await first.storage.get_data(StorageKey(bot_id=1, chat_id=605, user_id=605))

    async def run_in_background() -> None:  # as aiogram-dialog's BgManager does
        await released.wait()
        dialog_update = cast(TelegramObject, SimpleNamespace(aiogd_update=True))
        await first.ordering(read_data, dialog_update, {"event_chat": chat})

    async def start_background(_event: TelegramObject, _data: dict[str, Any]) -> None:
        await first.storage.get_data(StorageKey(bot_id=1, chat_id=605, user_id=605))
        background.append(asyncio.create_task(run_in_background()))

    await first.ordering(
        start_background, Update(update_id=next(_update_ids)), {"event_chat": chat}
    )
    first.reads.clear()
    released.set()
    await background[0]

    assert first.reads  # not the copies: another replica may hold the chat by now
