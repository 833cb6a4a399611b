"""One update at a time per chat, in arrival order.

aiogram runs updates as concurrent tasks, and aiogram-dialog reads a callback's dialog
context *before* it takes its per-stack lock. A shopper who taps the next button the moment
a screen appears can therefore have that tap read the previous screen's context, while the
update that drew the screen has yet to save the new one: the tap lands on a stale screen.
Serialising each chat's updates closes that window (different chats still run in parallel):
in this process with an asyncio lock, and across webhook replicas, when ``shared`` is given,
with a lock in NATS (``chat_locks.KvChatLocks``) taken after the local one, so updates
queued here wait in memory rather than polling NATS. Inside the shared lock the chat's FSM
records are served from this replica's copies when the lock proves them current
(``storage.chat_copies``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Chat, TelegramObject, User

from vitrina_bot.middlewares.chat_locks import KvChatLocks
from vitrina_bot.storage.chat_copies import ChatCopies
from vitrina_bot.updates.intake import carries_money

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class ChatOrderingMiddleware(BaseMiddleware):
    """Holds a lock per chat (or per user for chat-less updates) around each update."""

    def __init__(self, shared: KvChatLocks | None = None, copies: ChatCopies | None = None) -> None:
        self._shared = shared
        self._copies = copies
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiters: dict[int, int] = {}

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        chat: Chat | None = data.get("event_chat")
        user: User | None = data.get("event_from_user")
        key = chat.id if chat is not None else user.id if user is not None else None
        # aiogram-dialog's background updates may be awaited from inside a handler of the
        # same chat: waiting for that chat's lock would deadlock, so they are not ordered.
        # Money updates touch no dialog state, and a pre-checkout must be answered within
        # 10 s: they never queue behind the chat's other updates (here or on a replica
        # that died holding the shared lock).
        if key is None or getattr(event, "aiogd_update", None) is not None or carries_money(event):
            if self._copies is None:
                return await handler(event, data)
            with self._copies.outside():  # no lock held: the bucket, not the copies
                return await handler(event, data)
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiters[key] = self._waiters.get(key, 0) + 1
        try:
            async with lock:
                if self._shared is None:
                    return await handler(event, data)
                async with self._shared.hold(key) as untouched:
                    if self._copies is None:
                        return await handler(event, data)
                    with self._copies.holding(key, current=untouched):
                        return await handler(event, data)
        finally:
            self._waiters[key] -= 1
            if not self._waiters[key]:  # nobody else queued: forget the chat
                del self._waiters[key]
                del self._locks[key]
