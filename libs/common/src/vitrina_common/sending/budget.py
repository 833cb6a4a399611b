"""One send budget for every worker replica: a slot schedule in a NATS Key-Value key.

The key holds the time of the next free send slot (a float of Unix seconds). A sender
takes the slot ``max(next, now)`` and moves the key one interval (``1 / rate``) on, with a
compare-and-set on the key's revision: two replicas racing for one slot both read it, one
write wins and the other reads again. Then it sleeps until its slot. Slots are therefore
``1 / rate`` apart across all replicas together, whatever their number, and a slot is
never handed out twice (a generic cell rate algorithm without burst). A replica that dies
holding slots only wastes them.

A 429 from Telegram moves the key to ``now + retry_after`` (if that is later): every
replica's next slot comes after the pause.

Slots are wall-clock times compared across processes: replicas need synchronised clocks
(NTP keeps them within milliseconds; a replica whose clock runs ahead by a second sends
that much early and is caught by the flood margin the default rate leaves).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from nats.js import JetStreamContext
from nats.js.errors import KeyDeletedError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from vitrina_common.messaging.topology import SEND_BUDGET_BUCKET

# The budget's one key: every non-interactive send of the bot's token draws from it.
BUDGET_KEY = "telegram"


@dataclass
class BudgetStats:
    """What this process's takes cost: compare-and-set conflicts lost to other replicas."""

    taken: int = 0
    conflicts: int = 0


@dataclass
class GlobalBudget:
    """``take()`` waits for this process's next slot of the shared schedule."""

    kv: KeyValue
    rate_per_s: float
    key: str = BUDGET_KEY
    clock: Callable[[], float] = time.time
    stats: BudgetStats = field(default_factory=BudgetStats)

    @classmethod
    async def open(cls, js: JetStreamContext, rate_per_s: float) -> GlobalBudget:
        """The budget in the provisioned ``send-budget`` bucket."""
        return cls(await js.key_value(SEND_BUDGET_BUCKET.name), rate_per_s)

    @property
    def interval_s(self) -> float:
        """Seconds between two slots."""
        return 1.0 / self.rate_per_s

    async def take(self) -> float:
        """Reserve the next free slot and sleep until it comes; the slot (Unix seconds).

        The slot, not the moment the sleep ends, is what the budget promises: a loaded
        machine may wake late and send two slots' messages close together, which the
        default rate's margin under Telegram's limit absorbs.
        """
        slot = await self._advance(max, self.interval_s)
        self.stats.taken += 1
        delay = slot - self.clock()
        if delay > 0:
            await asyncio.sleep(delay)
        return slot

    async def pause(self, seconds: float) -> None:
        """Telegram said 429: no replica gets a slot for ``seconds`` from now."""
        await self._advance(lambda now, next_free: max(now + seconds, next_free), 0.0)

    async def _advance(self, slot_of: Callable[[float, float], float], step: float) -> float:
        """Compare-and-set the key to ``slot + step``; the slot."""
        while True:
            revision, next_free = await self._read()
            slot = slot_of(self.clock(), next_free)
            value = repr(slot + step).encode()
            try:
                if revision is None:
                    await self.kv.create(self.key, value)
                else:
                    await self.kv.update(self.key, value, last=revision)
            except KeyWrongLastSequenceError:
                self.stats.conflicts += 1
                continue
            return slot

    async def _read(self) -> tuple[int | None, float]:
        try:
            entry = await self.kv.get(self.key)
        except (KeyNotFoundError, KeyDeletedError):
            return None, 0.0
        if entry.value is None or entry.revision is None:
            return entry.revision, 0.0
        return entry.revision, float(entry.value.decode())
