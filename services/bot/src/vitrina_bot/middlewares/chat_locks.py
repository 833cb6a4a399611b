"""Per-chat locks shared by webhook replicas, in a NATS Key-Value bucket.

Telegram may deliver two updates of one chat to a webhook at once, and a load balancer may
hand them to two replicas; the in-process lock of ``ChatOrderingMiddleware`` cannot see
the other replica. Here a lock is the key ``<chat id>`` in ``CHAT_LOCKS_BUCKET``: taken
with ``create`` (succeeds only when the key has no value, so exactly one replica wins),
released by deleting it at the revision that replica wrote. The others poll with a short,
growing pause.

The bucket's TTL frees a lock whose replica died holding it (a SIGKILL, a lost node): that
chat waits at most the TTL. An update that outlives the TTL loses its exclusivity — the next
one may run alongside, as without this lock — never its processing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from nats.js import JetStreamContext
from nats.js.errors import KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from vitrina_common.logging import get_logger
from vitrina_common.messaging.topology import CHAT_LOCKS_BUCKET

log = get_logger(__name__)

FIRST_PAUSE_S = 0.005
LONGEST_PAUSE_S = 0.1


class KvChatLocks:
    """Mutual exclusion per chat across processes, in a NATS Key-Value bucket (see the
    module docstring)."""

    def __init__(self, kv: KeyValue) -> None:
        self._kv = kv

    @classmethod
    async def create(
        cls, js: JetStreamContext, bucket: str = CHAT_LOCKS_BUCKET.name
    ) -> KvChatLocks:
        """Bind to the provisioned bucket."""
        return cls(await js.key_value(bucket))

    @contextlib.asynccontextmanager
    async def hold(self, chat_key: int) -> AsyncIterator[None]:
        """Wait for ``chat_key``'s lock, hold it for the block."""
        key = str(chat_key)
        revision = await self._acquire(key)
        try:
            yield
        finally:
            await self._release(key, revision)

    async def _acquire(self, key: str) -> int:
        pause = FIRST_PAUSE_S
        while True:
            try:
                return await self._kv.create(key, b"")
            except KeyWrongLastSequenceError:  # held by another update, here or elsewhere
                await asyncio.sleep(pause)
                pause = min(pause * 2, LONGEST_PAUSE_S)

    async def _release(self, key: str, revision: int) -> None:
        try:
            await self._kv.delete(key, last=revision)
        except KeyWrongLastSequenceError:
            # Our lock expired (the update outlived the TTL) and another holds it now.
            log.warning("chat lock expired while held", chat=key)
        except Exception as error:  # noqa: BLE001  (the update is done; the TTL frees the lock)
            log.warning("chat lock not released", chat=key, error=str(error))
