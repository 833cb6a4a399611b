"""The outbox relay: delivers intents committed with business changes, at least once.

Rows are claimed one by one with ``FOR UPDATE SKIP LOCKED``, so any number of relays (bot
replicas, workers) share the table without delivering a row twice at the same time, and a
row's lock dies with its relay's connection: a killed relay's row is free at once. A failed
delivery is retried with exponential backoff, then dead (the admins are told). A crash
after a delivery but before its commit delivers that one row again, which is why handlers
are idempotent where the receiver allows it (NATS publishes carry a dedup id; Telegram
sends have no such key, so at most the row in hand is sent twice).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from nats.js import JetStreamContext
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.cancellation import finish_on_stop, raise_if_cancelled
from vitrina_common.db.models import OutboxMessage
from vitrina_common.logging import get_logger
from vitrina_common.messaging.contracts import Contract
from vitrina_common.messaging.publishing import MSG_ID_HEADER
from vitrina_common.notices import MESSAGE_KINDS, AdminAlert, enqueue_admin_alert
from vitrina_common.observability.outbox_telemetry import record_delivery, relay_span
from vitrina_common.repositories.outbox import OutboxRepository
from vitrina_common.retry import RetryPolicy

log = get_logger(__name__)
_tracer = trace.get_tracer("vitrina.outbox")

OutboxHandler = Callable[[dict[str, Any]], Awaitable[None]]
NATS_PUBLISH = "nats.publish"


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
        subject = payload["subject"]
        with _tracer.start_as_current_span(
            f"{subject} publish",
            kind=SpanKind.PRODUCER,
            attributes={"messaging.system": "nats", "messaging.destination.name": subject},
        ):
            # The consumer continues this span's trace (the relay's, which continues the
            # writer's), not the stored context of the moment the row was written.
            headers = dict(payload["headers"])
            propagate.inject(headers)
            await js.publish(
                subject, json.dumps(payload["body"]).encode(), headers=headers, timeout=5
            )

    return publish


class OutboxRelay:
    """Delivers due outbox rows; ``wake`` after a commit makes delivery immediate.

    Each row is claimed, delivered and settled in a transaction of its own, so a stop or a
    crash mid-pass never sends again what was already sent and recorded: at most the one
    row in hand is in doubt, and a stop (cancel) lets that one finish. A failure is retried
    with backoff; after ``policy.max_attempts`` the row is dead and the admins are told.
    """

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        handlers: Mapping[str, OutboxHandler],
        *,
        policy: RetryPolicy | None = None,
        batch_size: int = 50,
        poll_interval_s: float = 2.0,
        concurrency: int = 1,
    ) -> None:
        self._session_factory = session_factory
        self._handlers = dict(handlers)
        self._policy = policy or RetryPolicy()
        self._batch_size = batch_size
        self._poll_interval_s = poll_interval_s
        # Deliveries in flight at once, each holding a database connection: 1 keeps claim
        # order (Telegram sends); publishes to JetStream may overlap (each carries its
        # dedup id, order does not matter).
        self._concurrency = concurrency
        self._wakeup = asyncio.Event()

    def wake(self) -> None:
        """Deliver now instead of at the next poll (call after committing new rows)."""
        self._wakeup.set()

    async def deliver_due(self) -> int:
        """One pass over at most ``batch_size`` due rows; how many were delivered."""
        return (await self._pass()).delivered

    async def _pass(self) -> _Pass:
        done = _Pass()

        async def slot() -> None:
            while done.claimed < self._batch_size:
                done.claimed += 1
                delivered = await self._deliver_one()
                if delivered is None:
                    done.claimed -= 1
                    done.drained = True
                    return
                done.delivered += delivered

        await asyncio.gather(*(slot() for _ in range(self._concurrency)))
        return done

    async def _deliver_one(self) -> bool | None:
        # A stop arriving while a document is on its way waits for its commit, instead of
        # rolling back a send Telegram already made (sent again later).
        return await finish_on_stop(self._claim_and_deliver())

    async def _claim_and_deliver(self) -> bool | None:
        """True delivered, False failed (rescheduled or dead), None when nothing is due."""
        async with self._session_factory() as session, session.begin():
            outbox = OutboxRepository(session)
            row = await outbox.claim_one(self._handlers.keys())
            if row is None:
                return None
            kind, created_at = row.kind, row.created_at
            try:
                with relay_span(row.kind, row.payload, row.id):
                    await self._handlers[row.kind](row.payload)
            except Exception as error:  # noqa: BLE001  (any failure is retried, then dead)
                outcome = await self._settle_failure(outbox, row, error)
                delivered = False
            else:
                await outbox.mark_delivered([row.id])
                outcome, delivered = "delivered", True
        # Counted after the commit: a rolled-back delivery is attempted again.
        record_delivery(kind, outcome, created_at)
        return delivered

    async def _settle_failure(
        self, outbox: OutboxRepository, row: OutboxMessage, error: Exception
    ) -> str:
        reason = f"{type(error).__name__}: {error}"
        failed = row.attempts + 1
        if not self._policy.exhausted(failed):
            log.warning("outbox delivery failed", kind=row.kind, id=row.id, error=reason)
            await outbox.reschedule(row.id, reason, self._retry_in(failed, error))
            return "retried"
        log.error("outbox row dead", kind=row.kind, id=row.id, attempts=failed, error=reason)
        await outbox.mark_dead(row.id, reason)
        if row.kind not in MESSAGE_KINDS:
            await enqueue_admin_alert(
                outbox,
                AdminAlert.OUTBOX_DEAD,
                f"outbox-dead:{row.id}",
                id=row.id,
                kind=row.kind,
                attempts=failed,
                error=reason[:300],
            )
        return "dead"

    def _retry_in(self, failed: int, error: Exception) -> timedelta:
        # Telegram's flood control says when to come back; sooner is refused again.
        retry_after = getattr(error, "retry_after", None)
        delay = self._policy.delay(failed)
        if isinstance(retry_after, int | float):
            return max(delay, timedelta(seconds=float(retry_after)))
        return delay

    async def run(self) -> None:
        """Deliver forever: after each ``wake`` and every poll interval. Cancel to stop."""
        while True:
            raise_if_cancelled()
            try:
                while not (await self._pass()).drained:
                    raise_if_cancelled()
            except Exception as error:  # noqa: BLE001  (database hiccup: next poll retries)
                log.warning("outbox relay pass failed", error=str(error))
            raise_if_cancelled()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self._poll_interval_s)
            self._wakeup.clear()


@dataclass
class _Pass:
    claimed: int = 0
    delivered: int = 0
    # Nothing more was due: the pass ended before its batch was full.
    drained: bool = False
