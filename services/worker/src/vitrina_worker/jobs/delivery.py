"""What a job handler tells JetStream, decided in one place for every job type.

- done → ack;
- ``PermanentJobError`` → the caller records the failure, then term (no redelivery);
- anything else is transient → nak with a growing delay, until the last allowed delivery,
  which is treated as permanent ("gave up after N attempts: …").
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from faststream.nats import NatsMessage

RETRY_DELAY_CAP_S = 60.0


class PermanentJobError(Exception):
    """Retrying cannot help; ``str(error)`` is the reason shown to the admin."""


def delivery_count(message: NatsMessage) -> int:
    """How many times JetStream has delivered this message (1 on the first try)."""
    return int(message.raw_message.metadata.num_delivered or 1)


def is_last_delivery(message: NatsMessage, max_deliver: int) -> bool:
    """True when a nak now would exhaust the consumer's ``max_deliver``."""
    return delivery_count(message) >= max_deliver


def retry_delay_s(message: NatsMessage) -> float:
    """1 s, 2 s, 4 s … by delivery count, capped."""
    return min(2.0 ** (delivery_count(message) - 1), RETRY_DELAY_CAP_S)


@contextlib.asynccontextmanager
async def heartbeat(message: NatsMessage, interval_s: float) -> AsyncIterator[None]:
    """Tell JetStream "still working" every ``interval_s`` so a long job is not redelivered."""

    async def beat() -> None:
        while True:
            await asyncio.sleep(interval_s)
            await message.in_progress()

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
