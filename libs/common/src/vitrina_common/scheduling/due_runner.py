"""The worker's loop over due items: claim a batch, handle each exactly once.

Every replica runs a ``DueRunner``. One transaction claims up to ``batch_size`` due items
with ``FOR UPDATE SKIP LOCKED`` (replicas never wait for, nor take, each other's), and for
each, in a savepoint, deletes it and runs its kind's handler; the batch commits once. So:

- an item's effects and its removal commit together: handled exactly once, whichever
  replica claims it, however many there are;
- a replica killed mid-batch commits nothing of it: its locks go with its connection and
  the items are claimed again, by another replica or its restart;
- a handler that raises (or outlives ``handler_timeout_s``) undoes only its own
  savepoint: the item gets one more attempt, its error, and a due time after a backoff;
- an item of a kind this worker has no handler for is kept aside (``dead_at``) with the
  reason, and revived by the first worker that starts knowing the kind (a rolling deploy
  may let an old replica meet a kind the new version schedules).

What is due is decided against the injected ``Clock``, so tests move time instead of waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.clock import Clock
from vitrina_common.config_scheduling import SchedulingSettings
from vitrina_common.db.models import DueItemRow
from vitrina_common.logging import get_logger
from vitrina_common.repositories.due_items import DueItemRepository
from vitrina_common.scheduling.due import DueHandler, DueItem

log = get_logger(__name__)

SessionFactory = async_sessionmaker[AsyncSession]


@dataclass(frozen=True)
class BatchOutcome:
    """What one claim did: items handled, failed (postponed), and kept aside (unknown kind)."""

    handled: int = 0
    failed: int = 0
    unknown: int = 0

    @property
    def claimed(self) -> int:
        """Items the batch claimed."""
        return self.handled + self.failed + self.unknown


class DueRunner:
    """Handles due items with ``handlers`` (one per kind) until cancelled."""

    def __init__(
        self,
        session_factory: SessionFactory,
        handlers: Mapping[str, DueHandler],
        clock: Clock,
        settings: SchedulingSettings,
    ) -> None:
        self._session_factory = session_factory
        self._handlers = dict(handlers)
        self._clock = clock
        self._settings = settings
        self._revived = False

    async def run(self) -> None:
        """Claim batches while there is work, else poll; a pass that fails (the database is
        away) is logged and tried again at the next poll."""
        while True:
            try:
                outcome = await self.run_batch()
            except Exception as error:  # noqa: BLE001  (a database hiccup: the next poll retries)
                log.warning("due items pass failed", error=str(error))
                outcome = BatchOutcome()
            if outcome.claimed < self._settings.batch_size:
                await asyncio.sleep(self._settings.poll_interval_s)

    async def run_batch(self) -> BatchOutcome:
        """Claim up to a batch of due items and handle them, in one transaction."""
        if not self._revived:
            await self._revive_known_kinds()
        counts = {"handled": 0, "failed": 0, "unknown": 0}
        async with self._session_factory() as session, session.begin():
            due = DueItemRepository(session)
            for row in await due.lock_due(self._clock.now(), self._settings.batch_size):
                counts[await self._handle(session, due, row)] += 1
        return BatchOutcome(**counts)

    async def _handle(self, session: AsyncSession, due: DueItemRepository, row: DueItemRow) -> str:
        item = DueItem.of(row)
        handler = self._handlers.get(item.kind)
        if handler is None:
            reason = f"no handler for kind {item.kind!r} in this worker"
            log.error("due item kept aside", kind=item.kind, key=item.key, reason=reason)
            await due.bury(item.id, self._clock.now(), reason)
            return "unknown"
        try:
            async with session.begin_nested():
                # Deleted first: a handler that schedules the same (kind, key) again
                # creates a new item instead of moving the one being removed.
                await due.delete(item.id)
                async with asyncio.timeout(self._settings.handler_timeout_s):
                    await handler(session, item)
        except Exception as error:  # recorded and logged; the other items go on
            reason = (
                f"took longer than {self._settings.handler_timeout_s:g} s"
                if isinstance(error, TimeoutError)
                else f"{type(error).__name__}: {error}"
            )
            retry_at = self._retry_at(item.attempts)
            log.exception(
                "due item failed", kind=item.kind, key=item.key, error=reason, retry_at=retry_at
            )
            await due.postpone(item.id, retry_at, reason)
            return "failed"
        return "handled"

    def _retry_at(self, attempts_before: int) -> datetime:
        delay = self._settings.first_retry_s * 2 ** min(attempts_before, 30)
        return self._clock.now() + timedelta(seconds=min(delay, self._settings.max_retry_s))

    async def _revive_known_kinds(self) -> None:
        async with self._session_factory() as session, session.begin():
            revived = await DueItemRepository(session).revive(list(self._handlers))
        if revived:
            log.info("due items revived: their kind has a handler now", count=revived)
        self._revived = True
