"""aiogram FSM storage in a NATS JetStream Key-Value bucket, shared by every bot replica.

Laid out like aiogram's ``RedisStorage``: a ``KeyBuilder`` names the records, state and
data live under separate keys (``…:state`` and ``…:data``), state as UTF-8 text and data
as JSON. Key names are made KV-safe by ``vitrina_bot.storage.keys``.

Expiry is a property of the bucket (``BucketSpec.ttl`` in the topology), not of a key:
a TTL there expires idle conversations, and the delete markers left by clearing, too.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable, Mapping
from typing import Any, Literal, cast

from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import (
    BaseStorage,
    DefaultKeyBuilder,
    KeyBuilder,
    StateType,
    StorageKey,
)
from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from vitrina_bot.storage.chat_copies import ChatCopies, ChatRecords
from vitrina_bot.storage.keys import DEFAULT_SEPARATOR, encode_key
from vitrina_bot.storage.lru import Lru
from vitrina_common.messaging.topology import FSM_BUCKET

JsonLoads = Callable[..., Any]
JsonDumps = Callable[..., str]

# A writer loses a round only to another writer's success, so N concurrent updates of one
# key all land within N attempts; real per-user contention is two or three at most.
DEFAULT_UPDATE_ATTEMPTS = 32
# Jittered backoff after a lost round spreads the retries of racing replicas apart.
_BACKOFF_BASE_S = 0.002
_BACKOFF_CAP_S = 0.1


def default_key_builder() -> DefaultKeyBuilder:
    """Key layout ``fsm:<bot>:<business connection?>:<chat>:<thread?>:<user>:<destiny>:<part>``.

    ``with_destiny`` is what aiogram-dialog needs (its stacks and contexts are separate
    destinies); the bot id and business connection id keep those conversations apart
    instead of sharing one record, which is aiogram's default.
    """
    return DefaultKeyBuilder(with_bot_id=True, with_business_connection_id=True, with_destiny=True)


class StorageConflictError(RuntimeError):
    """``update_data`` kept losing the race to other writers of the same record."""


class _LocalCopies(Lru[str, bytes]):
    """The last value this process read or wrote per key (``b""``: known to be absent),
    least recently used dropped.

    Only sound when this process is the only writer of the bucket's records (the one
    polling bot): then the copy *is* the stored value, reads need no round trip and
    writing a value that did not change needs none either. aiogram-dialog reads and writes
    a context and a stack on every update, so that saves up to four round trips a tap.
    """


class NatsKVStorage(BaseStorage):
    """FSM state and data in a JetStream KV bucket (the ``fsm`` bucket by default).

    ``update_data`` is a compare-and-set on the record's revision, so concurrent updates
    from several replicas merge instead of overwriting each other. ``set_state`` and
    ``set_data`` replace, last writer wins, exactly as with Redis.

    ``single_writer=True`` (polling mode: Telegram lets exactly one process poll a token)
    keeps a local copy of every record this process touched and serves reads from it.
    Never set it where several processes write (webhook replicas): there, ``chat_copies``
    keeps copies that each chat's lock proves current (``storage.chat_copies``).
    """

    def __init__(
        self,
        kv: KeyValue,
        key_builder: KeyBuilder | None = None,
        *,
        json_loads: JsonLoads = json.loads,
        json_dumps: JsonDumps = json.dumps,
        update_attempts: int = DEFAULT_UPDATE_ATTEMPTS,
        single_writer: bool = False,
        local_copies: int = 100_000,
        chat_copies: ChatCopies | None = None,
    ) -> None:
        """Store records in ``kv``; ``key_builder`` defaults to ``default_key_builder()``."""
        self.kv = kv
        self.key_builder = key_builder or default_key_builder()
        self.json_loads = json_loads
        self.json_dumps = json_dumps
        self.update_attempts = update_attempts
        self._copies = _LocalCopies(local_copies) if single_writer else None
        self._chat_copies = chat_copies
        # Splitting on the builder's own separator gives one subject token per key part.
        self._separator = (
            self.key_builder.separator
            if isinstance(self.key_builder, DefaultKeyBuilder)
            else DEFAULT_SEPARATOR
        )

    @classmethod
    async def create(
        cls, js: JetStreamContext, bucket: str = FSM_BUCKET.name, **kwargs: Any
    ) -> NatsKVStorage:
        """Bind to an existing bucket (provisioning creates it; this never does).

        ``kwargs`` go to the constructor. Raises ``BucketNotFoundError`` when it is missing.
        """
        return cls(await js.key_value(bucket), **kwargs)

    def kv_key(self, key: StorageKey, part: Literal["state", "data"]) -> str:
        """The bucket key of the ``state`` or ``data`` record of ``key``."""
        return encode_key(self.key_builder.build(key, part), self._separator)

    async def close(self) -> None:
        """Nothing to release: the NATS connection belongs to the service runtime."""

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        """Replace the state; ``None`` deletes the record."""
        kv_key = self.kv_key(key, "state")
        if state is None:
            await self._write(key, kv_key, b"")
            return
        name = state.state if isinstance(state, State) else state
        await self._write(key, kv_key, cast(str, name).encode())

    async def get_state(self, key: StorageKey) -> str | None:
        """The current state, or ``None`` when there is none."""
        value = await self._read(key, self.kv_key(key, "state"))
        return value.decode() if value else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        """Replace the data; an empty mapping deletes the record."""
        if not isinstance(data, dict):
            msg = f"Data must be a dict or dict-like object, got {type(data).__name__}"
            raise DataNotDictLikeError(msg)
        kv_key = self.kv_key(key, "data")
        await self._write(key, kv_key, self.json_dumps(data).encode() if data else b"")

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        """The current data (a fresh dict), empty when there is none."""
        kv_key = self.kv_key(key, "data")
        if self._copies_of(key) is not None:
            value = await self._read(key, kv_key)
            return cast(dict[str, Any], self.json_loads(value)) if value else {}
        data, _ = await self._read_data(kv_key)
        return data

    async def update_data(self, key: StorageKey, data: Mapping[str, Any]) -> dict[str, Any]:
        """Merge ``data`` into the stored data atomically; returns the merged data.

        Read, merge, then write only if nobody wrote since the read; on a lost race, read
        again. Raises ``StorageConflictError`` after ``update_attempts`` lost rounds.
        """
        kv_key = self.kv_key(key, "data")
        for attempt in range(self.update_attempts):
            current, revision = await self._read_data(kv_key)
            current.update(data)
            if not current:
                return {}  # nothing stored and nothing to add: no record to write
            value = self.json_dumps(current).encode()
            try:
                await self.kv.update(kv_key, value, last=revision)
            except KeyWrongLastSequenceError:
                await asyncio.sleep(_backoff(attempt))
                continue
            if (copies := self._copies_of(key)) is not None:
                copies.put(kv_key, value)
            elif self._chat_copies is not None:
                self._chat_copies.forget(key.chat_id)
            return current.copy()
        raise StorageConflictError(f"{kv_key}: {self.update_attempts} concurrent-update losses")

    def _copies_of(self, key: StorageKey) -> _LocalCopies | ChatRecords | None:
        """Where ``key``'s records may be served from, ``None``: only from the bucket."""
        if self._copies is not None:
            return self._copies
        if self._chat_copies is not None:
            return self._chat_copies.of(key.chat_id)
        return None

    async def _read(self, key: StorageKey, kv_key: str) -> bytes:
        """The record's bytes, ``b""`` when there is none."""
        copies = self._copies_of(key)
        if copies is not None and (known := copies.get(kv_key)) is not None:
            return known
        try:
            entry = await self.kv.get(kv_key)
        except KeyNotFoundError:
            value = b""
        else:
            value = entry.value or b""
        if copies is not None:
            copies.put(kv_key, value)
        return value

    async def _write(self, key: StorageKey, kv_key: str, value: bytes) -> None:
        """Store ``value`` (``b""`` deletes), skipping a write that changes nothing."""
        copies = self._copies_of(key)
        if copies is not None and copies.get(kv_key) == value:
            return
        if copies is None and self._chat_copies is not None:
            # Written outside the chat's lock: what this replica holds of it may be stale.
            self._chat_copies.forget(key.chat_id)
        if value:
            await self.kv.put(kv_key, value)
        else:
            await self.kv.delete(kv_key)
        if copies is not None:
            copies.put(kv_key, value)

    async def _read_data(self, kv_key: str) -> tuple[dict[str, Any], int]:
        """The data and the revision a conditional write must name to replace it."""
        try:
            entry = await self.kv.get(kv_key)
        except KeyNotFoundError as missing:
            # A deleted record still has a delete marker, and a conditional write must name
            # the marker's revision; 0 means "no message at all" and would be refused.
            marker = cast(KeyValue.Entry | None, missing.entry)
            return {}, (marker.revision or 0) if marker else 0
        if not entry.value:
            return {}, entry.revision or 0
        return cast(dict[str, Any], self.json_loads(entry.value)), entry.revision or 0


def _backoff(attempt: int) -> float:
    # Jitter, not cryptography.
    return random.uniform(0, min(_BACKOFF_CAP_S, _BACKOFF_BASE_S * 2**attempt))  # noqa: S311
