"""The worker's loop over due items: claim a batch, handle each exactly once.

Every replica runs a ``DueRunner``. One transaction claims up to ``batch_size`` due items
with ``FOR UPDATE SKIP LOCKED`` (replicas never wait for, nor take, each other's), deletes
them and runs each one's kind's handler; the batch commits once. If a handler fails, the
batch is rolled back, the failing item postponed, and the others handled again one
transaction each: 5-7 times slower than a batch (``bench.schedule``), but failures are rare,
and a handler cut off mid-query may leave its connection unusable, which a savepoint per
item would not survive. So:

- an item's effects and its removal commit together: handled exactly once, whichever
  replica claims it, however many there are;
- a replica killed mid-batch commits nothing of it: its locks go with its connection and
  the items are claimed again, by another replica or its restart;
- a handler that raises (or outlives ``handler_timeout_s``) undoes only its own item
  in the end (the others are handled again and committed): it gets one more attempt, its
  error, and a due time after a backoff; handlers may run more than once before the one
  that commits, so they act only through the database;
- an item of a kind this worker has no handler for is kept aside (``dead_at``) with the
  reason, and revived by the first worker that starts knowing the kind (a rolling deploy
  may let an old replica meet a kind the new version schedules).

What is due is decided against the injected ``Clock``, so tests move time instead of waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from opentelemetry import trace
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.clock import Clock
from vitrina_common.config_scheduling import SchedulingSettings
from vitrina_common.logging import get_logger
from vitrina_common.observability import shop_metrics
from vitrina_common.repositories.due_items import DueItemRepository
from vitrina_common.retry import RetryPolicy
from vitrina_common.scheduling.due import DueHandler, DueItem

log = get_logger(__name__)
_tracer = trace.get_tracer("vitrina.scheduling")

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

    def __add__(self, other: BatchOutcome) -> BatchOutcome:
        return BatchOutcome(
            self.handled + other.handled, self.failed + other.failed, self.unknown + other.unknown
        )


class _HandlerFailedError(Exception):
    """A handler failed: its batch's transaction is to be undone."""

    def __init__(self, culprit: DueItem, error: Exception, others: list[int]) -> None:
        super().__init__(culprit.kind, culprit.key)
        self.culprit = culprit
        self.error = error
        # The batch's other items, undone with it, to be handled again.
        self.others = others


class DueRunner:
    """Handles due items with ``handlers`` (one per kind), a batch per ``run_batch`` (the
    worker's ``SchedulingLoop`` calls it)."""

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
        # Retried without end (no attempt limit): only the backoff of RetryPolicy applies.
        self._backoff = RetryPolicy(
            first_delay_s=settings.first_retry_s, max_delay_s=settings.max_retry_s
        )
        self._revived = False

    async def run_batch(self) -> BatchOutcome:
        """Claim up to a batch of due items and handle them in one transaction. If a
        handler fails, that transaction is undone, the failing item is postponed, and the
        others are handled again one transaction each, so the failure costs only its own
        item (whatever state it left the connection in)."""
        if not self._revived:
            await self._revive_known_kinds()
        try:
            return await self._claim_and_handle(None)
        except _HandlerFailedError as failed:
            log.info(
                "a due item failed: its batch is handled again item by item",
                kind=failed.culprit.kind,
                key=failed.culprit.key,
            )
            outcome = await self._postpone_alone(failed.culprit, failed.error)
            others = failed.others
        for item_id in others:
            try:
                outcome += await self._claim_and_handle([item_id])
            except _HandlerFailedError as alone:
                outcome += await self._postpone_alone(alone.culprit, alone.error)
        return outcome

    async def _claim_and_handle(self, only: Sequence[int] | None) -> BatchOutcome:
        """Claim due items (only ids ``only``, if given) and handle them together; raises
        ``_HandlerFailedError``, the transaction undone, when a handler fails."""
        # One span per batch: the statements' spans are its children, not a trace each.
        with _tracer.start_as_current_span("due items batch"):
            async with self._session_factory() as session, session.begin():
                due = DueItemRepository(session)
                rows = await due.lock_due(self._clock.now(), self._settings.batch_size, only)
                items = [DueItem.of(row) for row in rows]
                known = [item for item in items if item.kind in self._handlers]
                unknown = [item for item in items if item.kind not in self._handlers]
                for item in unknown:
                    await self._keep_aside(due, item)
                # Deleted first: a handler that schedules the same (kind, key) again
                # creates a new item instead of moving the one being removed.
                await due.delete([item.id for item in known])
                for item in known:
                    try:
                        async with asyncio.timeout(self._settings.handler_timeout_s):
                            await self._handlers[item.kind](session, item)
                    except Exception as error:
                        others = [each.id for each in known if each is not item]
                        raise _HandlerFailedError(item, error, others) from error
        # Committed: count them.
        for outcome, counted in (("handled", known), ("kept_aside", unknown)):
            for item in counted:
                shop_metrics.due_items.add(1, {"kind": item.kind, "outcome": outcome})
        return BatchOutcome(handled=len(known), unknown=len(unknown))

    async def _postpone_alone(self, item: DueItem, error: Exception) -> BatchOutcome:
        """Record ``item``'s failure in a transaction of its own (the failed one is gone,
        and may have taken its connection with it)."""
        reason = (
            f"took longer than {self._settings.handler_timeout_s:g} s"
            if isinstance(error, TimeoutError)
            else f"{type(error).__name__}: {error}"
        )
        retry_at = self._retry_at(item.attempts)
        log.error(
            "due item failed",
            kind=item.kind,
            key=item.key,
            error=reason,
            retry_at=retry_at.isoformat(),
            exc_info=error,
        )
        async with self._session_factory() as session, session.begin():
            due = DueItemRepository(session)
            # Skipped if another replica has claimed it since: its outcome stands.
            if await due.lock_due(self._clock.now(), 1, [item.id]):
                await due.postpone(item.id, retry_at, reason)
        shop_metrics.due_items.add(1, {"kind": item.kind, "outcome": "failed"})
        return BatchOutcome(failed=1)

    async def _keep_aside(self, due: DueItemRepository, item: DueItem) -> None:
        reason = f"no handler for kind {item.kind!r} in this worker"
        log.error("due item kept aside", kind=item.kind, key=item.key, reason=reason)
        await due.bury(item.id, self._clock.now(), reason)

    def _retry_at(self, attempts_before: int) -> datetime:
        return self._clock.now() + self._backoff.delay(attempts_before + 1)

    async def _revive_known_kinds(self) -> None:
        async with self._session_factory() as session, session.begin():
            revived = await DueItemRepository(session).revive(list(self._handlers))
        if revived:
            log.info("due items revived: their kind has a handler now", count=revived)
        self._revived = True
