"""Per-chat locks shared by webhook replicas, in a NATS Key-Value bucket.

Telegram may deliver two updates of one chat to a webhook at once, and a load balancer may
hand them to two replicas; the in-process lock of ``ChatOrderingMiddleware`` cannot see
the other replica. Here a lock is the key ``<chat id>`` in ``CHAT_LOCKS_BUCKET``, valued
``held`` or ``free``. It is released by writing ``free`` at the revision its holder wrote,
and the releasing replica remembers the revision of that ``free``. It is taken by writing
``held`` conditionally: at the remembered revision when this replica released it last (one
round trip, and its success proves nobody took the chat since, so this replica's copies of
the chat's records are current: see ``storage.chat_copies``); otherwise with ``create``
when the key has no value, or at the revision of the ``free`` that ``get`` read. Exactly
one replica wins each round; the others poll with a short, growing pause.

The bucket's TTL frees a lock whose replica died holding it (a SIGKILL, a lost node): that
chat waits at most the TTL. An update that outlives the TTL loses its exclusivity — the next
one may run alongside, as without this lock — never its processing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from vitrina_bot.storage.lru import Lru
from vitrina_common.logging import get_logger
from vitrina_common.messaging.topology import CHAT_LOCKS_BUCKET

log = get_logger(__name__)

HELD = b"held"
FREE = b"free"
FIRST_PAUSE_S = 0.005
LONGEST_PAUSE_S = 0.1


class KvChatLocks:
    """Mutual exclusion per chat across processes, in a NATS Key-Value bucket (see the
    module docstring)."""

    def __init__(self, kv: KeyValue, remembered_chats: int = 20_000) -> None:
        self._kv = kv
        # The revision of the ``free`` this replica wrote last, per chat.
        self._released: Lru[str, int] = Lru(remembered_chats)

    @classmethod
    async def create(
        cls, js: JetStreamContext, bucket: str = CHAT_LOCKS_BUCKET.name
    ) -> KvChatLocks:
        """Bind to the provisioned bucket."""
        return cls(await js.key_value(bucket))

    @contextlib.asynccontextmanager
    async def hold(self, chat_key: int) -> AsyncIterator[bool]:
        """Wait for ``chat_key``'s lock, hold it for the block.

        Yields whether nobody took the lock since this replica released it last.
        """
        key = str(chat_key)
        revision, untouched = await self._acquire(key)
        try:
            yield untouched
        finally:
            await self._release(key, revision)

    async def _acquire(self, key: str) -> tuple[int, bool]:
        released = self._released.pop(key)
        if released is not None:
            with contextlib.suppress(KeyWrongLastSequenceError):  # taken since, or expired
                return await self._kv.update(key, HELD, last=released), True
        pause = FIRST_PAUSE_S
        while True:
            with contextlib.suppress(KeyWrongLastSequenceError):  # it has a value
                return await self._kv.create(key, HELD), False
            try:
                entry = await self._kv.get(key)
            except KeyNotFoundError:  # deleted or expired just now
                continue
            if entry.value == FREE:
                with contextlib.suppress(KeyWrongLastSequenceError):  # another won the round
                    return await self._kv.update(key, HELD, last=entry.revision), False
                continue
            # Held by another update, here or elsewhere.
            await asyncio.sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE_S)

    async def _release(self, key: str, revision: int) -> None:
        try:
            self._released.put(key, await self._kv.update(key, FREE, last=revision))
        except KeyWrongLastSequenceError:
            # Our lock expired (the update outlived the TTL) and another holds it now.
            log.warning("chat lock expired while held", chat=key)
        except Exception as error:  # noqa: BLE001  (the update is done; the TTL frees the lock)
            log.warning("chat lock not released", chat=key, error=str(error))
