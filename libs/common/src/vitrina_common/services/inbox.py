"""The update inbox: money-carrying updates are made durable before Telegram forgets them.

aiogram's polling confirms an update to Telegram (the next getUpdates offset) while its
handler may still be running, and a webhook answer is all Telegram waits for; a crash then
loses the update. ``pre_checkout_query``, ``successful_payment`` and ``refunded_payment``
are stored here first and closed after their handler finished, so a restart (or another
replica's sweep) replays exactly the ones whose processing did not finish. Every update id
is recorded, so a repeated delivery of the same update is recognised.

Each money update is processed in a transaction of its own that holds its row
(``FOR UPDATE SKIP LOCKED``): live handling, a webhook retry and any replica's sweep never
run one update twice at once, and one update's failure never holds back another. A failure
counts an attempt and schedules the next with backoff; the last one closes the row as dead
and alerts the admins. A pre-checkout query older than Telegram's 10 s is closed as expired:
Telegram has declined that payment already, and answering it now only fails.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.db.models import UpdateOutcome
from vitrina_common.logging import get_logger
from vitrina_common.notices import AdminAlert, enqueue_admin_alert
from vitrina_common.repositories.outbox import OutboxRepository
from vitrina_common.repositories.updates import OpenUpdate, UpdateRepository
from vitrina_common.retry import RetryPolicy

log = get_logger(__name__)

# Telegram waits this long for a pre-checkout answer, then declines the payment itself.
PRE_CHECKOUT_WINDOW_S = 10.0
PRE_CHECKOUT_QUERY = "pre_checkout_query"
# A handler that hangs holds its row (and a connection): past this it counts as failed.
HANDLER_TIMEOUT_S = 60.0
# Rows one sweep looks at; the next sweep continues.
REPLAY_BATCH = 100

MoneyHandler = Callable[[OpenUpdate], Awaitable[None]]


@dataclass(frozen=True)
class IncomingUpdate:
    """An update as the inbox sees it: its id, its kind, and its JSON if it carries money."""

    update_id: int
    kind: str
    money_payload: dict[str, Any] | None


class Settled(StrEnum):
    """What became of one attempt at a money update."""

    PROCESSED = "processed"
    EXPIRED = "expired"
    # Failed; the next attempt is scheduled.
    FAILED = "failed"
    DEAD = "dead"
    # Closed already, or held by another task or replica right now.
    SKIPPED = "skipped"


class UpdateInbox:
    """Records updates and processes money updates, each under its own row lock."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        policy: RetryPolicy | None = None,
        concurrency: int = 4,
    ) -> None:
        self._session_factory = session_factory
        self._policy = policy or RetryPolicy()
        # Each money update holds one connection for its row lock while its handler takes
        # another: bounded below the pool size, they can never starve each other.
        self._slots = asyncio.Semaphore(concurrency)

    async def admit(self, updates: list[IncomingUpdate]) -> set[int]:
        """Record ``updates``; returns the ids seen for the first time.

        One INSERT … ON CONFLICT statement, atomic by itself: run without BEGIN/COMMIT around
        it, it is one round trip instead of three (the webhook admits every update)."""
        rows = [
            {"update_id": u.update_id, "kind": u.kind, "payload": u.money_payload} for u in updates
        ]
        async with self._session_factory() as session:
            await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            return await UpdateRepository(session).insert_new(rows)

    async def forget(self, update_id: int) -> None:
        """Drop an update's record (its handling failed): a redelivery is handled afresh."""
        async with self._session_factory() as session, session.begin():
            await UpdateRepository(session).forget(update_id)

    async def process(self, update_id: int, handle: MoneyHandler) -> Settled:
        """Handle this money update now unless it is closed or held elsewhere."""
        async with self._slots, self._session_factory() as session, session.begin():
            repository = UpdateRepository(session)
            row = await repository.lock_open(update_id)
            if row is None:
                return Settled.SKIPPED
            return await self._settle(session, row, handle)

    async def replay_due(self, handle: MoneyHandler) -> list[Settled]:
        """Attempt every money update whose next attempt is due, one transaction each."""
        settled: list[Settled] = []
        for _ in range(REPLAY_BATCH):
            async with self._slots, self._session_factory() as session, session.begin():
                row = await UpdateRepository(session).claim_due()
                if row is None:
                    break
                log.warning(
                    "replaying an unfinished money update",
                    update_id=row.update_id,
                    kind=row.kind,
                    attempts=row.attempts,
                )
                settled.append(await self._settle(session, row, handle))
        return settled

    async def _settle(
        self, session: AsyncSession, row: OpenUpdate, handle: MoneyHandler
    ) -> Settled:
        repository = UpdateRepository(session)
        if row.kind == PRE_CHECKOUT_QUERY and row.age_s >= PRE_CHECKOUT_WINDOW_S:
            log.warning("pre-checkout too old to answer", update_id=row.update_id, age_s=row.age_s)
            await repository.close(row.update_id, UpdateOutcome.EXPIRED)
            return Settled.EXPIRED
        try:
            async with asyncio.timeout(HANDLER_TIMEOUT_S):
                await handle(row)
        except Exception as error:  # noqa: BLE001  (counted, retried, then dead)
            return await self._fail(session, row, f"{type(error).__name__}: {error}")
        await repository.close(row.update_id, UpdateOutcome.PROCESSED)
        return Settled.PROCESSED

    async def _fail(self, session: AsyncSession, row: OpenUpdate, reason: str) -> Settled:
        failed = row.attempts + 1
        repository = UpdateRepository(session)
        if not self._policy.exhausted(failed):
            log.warning(
                "money update failed", update_id=row.update_id, attempt=failed, error=reason
            )
            await repository.record_failure(row.update_id, reason, self._policy.delay(failed))
            return Settled.FAILED
        log.error("money update dead", update_id=row.update_id, attempts=failed, error=reason)
        await repository.close(row.update_id, UpdateOutcome.DEAD, reason)
        await enqueue_admin_alert(
            OutboxRepository(session),
            AdminAlert.INBOX_DEAD,
            f"inbox-dead:{row.update_id}",
            update_id=row.update_id,
            kind=row.kind,
            attempts=failed,
            error=reason[:300],
        )
        return Settled.DEAD
