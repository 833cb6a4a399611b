"""The outbox relay: delivers intents committed with business changes, at least once.

Rows are claimed with ``FOR UPDATE SKIP LOCKED``, so any number of relays (bot replicas,
workers) share the table without delivering a row twice at the same time. A failed delivery
is retried with exponential backoff; a crash after delivery but before the commit delivers
again, which is why every handler must be idempotent (NATS publishes carry a dedup id).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from nats.js import JetStreamContext
from opentelemetry import propagate
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.db.models import OutboxMessage
from vitrina_common.logging import get_logger
from vitrina_common.messaging.contracts import Contract
from vitrina_common.messaging.publishing import MSG_ID_HEADER
from vitrina_common.repositories.outbox import OutboxRepository

log = get_logger(__name__)

OutboxHandler = Callable[[dict[str, Any]], Awaitable[None]]
NATS_PUBLISH = "nats.publish"
MAX_BACKOFF = timedelta(minutes=5)


def publish_intent(message: Contract) -> tuple[str, dict[str, Any]]:
    """The outbox dedup key and payload of "publish ``message``" (kind ``NATS_PUBLISH``)."""
    headers = {MSG_ID_HEADER: message.msg_id()}
    propagate.inject(headers)
    payload = {
        "subject": message.subject,
        "headers": headers,
        "body": message.model_dump(mode="json"),
    }
    return f"publish:{message.msg_id()}", payload


async def enqueue_publish(outbox: OutboxRepository, message: Contract) -> None:
    """Record "publish ``message``" in the caller's transaction."""
    dedup_key, payload = publish_intent(message)
    await outbox.add(NATS_PUBLISH, dedup_key=dedup_key, payload=payload)


async def enqueue_publishes(outbox: OutboxRepository, messages: Sequence[Contract]) -> None:
    """Record "publish" for each of ``messages`` in the caller's transaction, in a few
    statements (an import fans out thousands of jobs in one commit)."""
    await outbox.add_many(NATS_PUBLISH, [publish_intent(message) for message in messages])


def nats_publish_handler(js: JetStreamContext) -> OutboxHandler:
    """Deliver ``nats.publish`` rows to JetStream (dedup by the stored Nats-Msg-Id)."""

    async def publish(payload: dict[str, Any]) -> None:
        await js.publish(
            payload["subject"],
            json.dumps(payload["body"]).encode(),
            headers=payload["headers"],
            timeout=5,
        )

    return publish


def backoff(attempts: int) -> timedelta:
    """1 s, 2 s, 4 s … capped at five minutes."""
    return min(timedelta(seconds=2**attempts), MAX_BACKOFF)


class OutboxRelay:
    """Delivers due outbox rows; ``wake`` after a commit makes delivery immediate."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        handlers: Mapping[str, OutboxHandler],
        *,
        batch_size: int = 50,
        poll_interval_s: float = 2.0,
        concurrency: int = 1,
    ) -> None:
        self._session_factory = session_factory
        self._handlers = dict(handlers)
        self._batch_size = batch_size
        self._poll_interval_s = poll_interval_s
        # Deliveries in flight at once: 1 keeps claim order (Telegram sends); publishes to
        # JetStream may overlap (each carries its dedup id, order does not matter).
        self._concurrency = concurrency
        self._wakeup = asyncio.Event()

    def wake(self) -> None:
        """Deliver now instead of at the next poll (call after committing new rows)."""
        self._wakeup.set()

    async def deliver_due(self) -> int:
        """One pass: claim due rows, deliver them, commit; returns how many were delivered."""
        async with self._session_factory() as session, session.begin():
            outbox = OutboxRepository(session)
            rows = await outbox.claim_due(self._batch_size, self._handlers.keys())
            errors = await self._deliver(rows)
            for row, error in zip(rows, errors, strict=True):
                if error is not None:
                    log.warning("outbox delivery failed", kind=row.kind, error=str(error))
                    reason = f"{type(error).__name__}: {error}"
                    await outbox.reschedule(row.id, reason, backoff(row.attempts))
            delivered = [row.id for row, error in zip(rows, errors, strict=True) if error is None]
            await outbox.mark_delivered(delivered)
        return len(delivered)

    async def _deliver(self, rows: list[OutboxMessage]) -> list[Exception | None]:
        """Each row's failure or None, at most ``concurrency`` deliveries at a time (in
        claim order when it is 1)."""
        slots = asyncio.Semaphore(self._concurrency)

        async def deliver(row: OutboxMessage) -> Exception | None:
            async with slots:
                try:
                    await self._handlers[row.kind](row.payload)
                except Exception as error:  # noqa: BLE001  (any failure is retried later)
                    return error
                return None

        return list(await asyncio.gather(*(deliver(row) for row in rows)))

    async def run(self) -> None:
        """Deliver forever: after each ``wake`` and every poll interval. Cancel to stop."""
        while True:
            try:
                while await self.deliver_due() == self._batch_size:
                    pass
            except Exception as error:  # noqa: BLE001  (database hiccup: next poll retries)
                log.warning("outbox relay pass failed", error=str(error))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self._poll_interval_s)
            self._wakeup.clear()
