"""Periodic tasks, each run by whichever worker replica claims it when it is due.

Every replica runs a ``Scheduler`` over the same named tasks (the worker's
``SchedulingLoop`` calls ``start_due`` on each pass); their
schedule is the ``scheduled_tasks`` table, and the database's clock decides what is due.
A replica claims a due row with ``FOR UPDATE SKIP LOCKED`` and, in that same short
transaction, numbers the run and moves ``due_at`` to the end of a lease (the task's time
limit plus a margin): the other replicas see the task as not due while it runs, and no
transaction stays open for the length of a run (an open one would hold back vacuum on
every table). After the run, the outcome is recorded and ``due_at`` becomes now +
interval, by that run only: a run whose number is no longer the latest records nothing.

What that guarantees:

- one run of a task at a time across replicas: a run is cancelled at its time limit,
  before its lease ends, and only then may another replica claim the task;
- nothing lost or repeated by a restart: the schedule lives in the database. A process
  stopped mid-run makes the task due at once; one killed mid-run leaves it to be claimed
  when the lease ends. Either way the task runs again, so tasks must be idempotent;
- one failing run is recorded (``last_error``) and logged, and the task is due again
  after its interval; the loop goes on, and so do the other tasks.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.logging import get_logger
from vitrina_common.repositories.scheduled_tasks import ScheduledTaskRepository

log = get_logger(__name__)

SessionFactory = async_sessionmaker[AsyncSession]
# The lease outlasts the time limit by this much: the limit is counted from the moment the
# run starts here, a little after the database started the lease.
LEASE_MARGIN = timedelta(minutes=1)
# A stopping process releases its run within this time, or leaves it to the lease.
_RELEASE_TIMEOUT_S = 5.0
_STOPPED = "stopped before it finished (the process was stopping); due again at once"


@dataclass(frozen=True)
class PeriodicTask:
    """``run`` every ``interval``, by one replica at a time; a run longer than ``timeout``
    (default: the interval) is cancelled and recorded as failed."""

    name: str
    interval: timedelta
    run: Callable[[], Awaitable[object]]
    timeout: timedelta | None = None

    @property
    def time_limit(self) -> timedelta:
        """How long one run may take."""
        return self.timeout or self.interval


class Scheduler:
    """Runs this process's share of the periodic ``tasks``: whatever is due and unclaimed."""

    def __init__(
        self,
        session_factory: SessionFactory,
        tasks: Sequence[PeriodicTask],
    ) -> None:
        self._session_factory = session_factory
        self._tasks = {task.name: task for task in tasks}
        if len(self._tasks) != len(tasks):
            raise ValueError("periodic tasks need distinct names")
        self._rows_ensured = False

    async def run_due(self) -> str | None:
        """Claim one due task and run it; its name, or None when nothing was due."""
        await self._ensure_rows()
        claimed = await self._claim()
        if claimed is None:
            return None
        task, run = claimed
        error = await self._run(task, run)
        await self._finish(task.name, run, task.interval, error)
        return task.name

    async def start_due(self) -> asyncio.Task[None] | None:
        """Claim one due task and start its run in the background (the run finishes and
        records itself); None when nothing was due. Cancelling the run hands the task back."""
        await self._ensure_rows()
        claimed = await self._claim()
        if claimed is None:
            return None
        task, run = claimed
        return asyncio.create_task(self._run_and_finish(task, run), name=f"periodic-{task.name}")

    async def _run_and_finish(self, task: PeriodicTask, run: int) -> None:
        error = await self._run(task, run)
        try:
            await self._finish(task.name, run, task.interval, error)
        except Exception as failure:  # noqa: BLE001  (the lease ends the claim instead)
            log.warning("scheduled run's outcome not recorded", task=task.name, error=str(failure))

    async def _ensure_rows(self) -> None:
        if not self._rows_ensured:
            async with self._session_factory() as session, session.begin():
                await ScheduledTaskRepository(session).ensure(list(self._tasks))
            self._rows_ensured = True

    async def _claim(self) -> tuple[PeriodicTask, int] | None:
        async with self._session_factory() as session, session.begin():
            schedule = ScheduledTaskRepository(session)
            name = await schedule.lock_due(list(self._tasks))
            if name is None:
                return None
            task = self._tasks[name]
            return task, await schedule.start_run(name, task.time_limit + LEASE_MARGIN)

    async def _run(self, task: PeriodicTask, run: int) -> str | None:
        """Run ``task`` within its time limit; what to record as its error, None if none."""
        limit = asyncio.timeout(task.time_limit.total_seconds())
        try:
            async with limit:
                await task.run()
        except asyncio.CancelledError:
            await self._release(task.name, run)
            raise
        except Exception as error:  # recorded and logged; the loop goes on
            reason = (
                f"stopped at its time limit of {task.time_limit}"
                if limit.expired()
                else f"{type(error).__name__}: {error}"
            )
            log.exception("scheduled task failed", task=task.name, run=run, error=reason)
            return reason
        return None

    async def _release(self, name: str, run: int) -> None:
        """The process is stopping: make the task due at once, for any replica."""
        with contextlib.suppress(Exception):  # best effort: else the lease ends the claim
            async with asyncio.timeout(_RELEASE_TIMEOUT_S):
                await self._finish(name, run, timedelta(0), _STOPPED)

    async def _finish(self, name: str, run: int, next_due_in: timedelta, error: str | None) -> None:
        async with self._session_factory() as session, session.begin():
            recorded = await ScheduledTaskRepository(session).finish_run(
                name, run, next_due_in, error
            )
        if not recorded:
            log.warning("scheduled run outlived its lease; outcome not recorded", task=name)
