"""Local copies of a chat's FSM records that the chat's cross-replica lock proves current.

Webhook replicas share the ``fsm`` records, so a replica may not trust what it read on an
earlier update: another replica may have served the chat since. But every update of a chat
runs under the chat's lock (``KvChatLocks``), and taking that lock tells whether anybody
took it since this replica released it. If nobody did, nobody wrote the chat's records
either, and this replica's copies of them are the stored values: reads need no round trip,
and neither does writing a value that did not change. If somebody did, the copies are
dropped and the records are read again.

The copies of a chat are used only inside ``holding`` for that chat (a context variable,
so an update's tasks see it and other chats' updates do not); a write to a chat from
outside its lock drops the chat's copies.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

from vitrina_bot.storage.lru import Lru

_held_chat: ContextVar[int | None] = ContextVar("held_chat", default=None)


class ChatRecords:
    """One chat's records as last read or written here (``b""``: known to be absent)."""

    def __init__(self) -> None:
        self._values: dict[str, bytes] = {}

    def get(self, kv_key: str) -> bytes | None:
        return self._values.get(kv_key)

    def put(self, kv_key: str, value: bytes) -> None:
        self._values[kv_key] = value


class ChatCopies:
    """The records of the most recently served chats, least recently served dropped."""

    def __init__(self, max_chats: int = 20_000) -> None:
        self._chats: Lru[int, ChatRecords] = Lru(max_chats)

    @contextlib.contextmanager
    def holding(self, chat: int, *, current: bool) -> Iterator[None]:
        """Use ``chat``'s copies for the block; ``current``: the lock proved them current."""
        if not current:
            self.forget(chat)
        token = _held_chat.set(chat)
        try:
            yield
        finally:
            _held_chat.reset(token)

    @contextlib.contextmanager
    def outside(self) -> Iterator[None]:
        """No chat's copies for the block: an update run without its chat's lock.

        aiogram-dialog runs a background update as a task that inherits the context of the
        update that started it, and may run after that update released the lock.
        """
        token = _held_chat.set(None)
        try:
            yield
        finally:
            _held_chat.reset(token)

    def of(self, chat: int | None) -> ChatRecords | None:
        """``chat``'s copies when its lock is held here, else ``None`` (go to the bucket)."""
        if chat is None or _held_chat.get() != chat:
            return None
        records = self._chats.get(chat)
        if records is None:
            records = ChatRecords()
            self._chats.put(chat, records)
        return records

    def forget(self, chat: int | None) -> None:
        """Drop ``chat``'s copies (written elsewhere, or not proven current)."""
        if chat is not None:
            self._chats.pop(chat)
