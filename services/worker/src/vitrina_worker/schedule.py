"""The worker's scheduling: periodic tasks and due items, claimed from their rows by one
loop in the background of every replica (``FOR UPDATE SKIP LOCKED``: one replica each)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.cancellation import cancel_and_wait
from vitrina_common.clock import Clock, SystemClock
from vitrina_common.config import Settings
from vitrina_common.scheduling import DueRunner, PeriodicTask, Scheduler, SchedulingLoop
from vitrina_common.services.broadcasts import start_due
from vitrina_common.services.retention import retention_task
from vitrina_common.services.tickets import ticket_reminders_task
from vitrina_worker.due_handlers import due_handlers

SessionFactory = async_sessionmaker[AsyncSession]


def periodic_tasks(settings: Settings, session_factory: SessionFactory) -> list[PeriodicTask]:
    """Every periodic task of the worker."""
    return [
        retention_task(session_factory, settings.retention),
        ticket_reminders_task(session_factory, settings.tickets),
        # Scheduled broadcasts start within this interval (plus the scheduler's poll).
        PeriodicTask(
            "broadcasts-due",
            timedelta(seconds=settings.sending.schedule_check_s),
            partial(start_due, session_factory),
            timeout=timedelta(minutes=5),
        ),
    ]


class ScheduledTasks:
    """The scheduling loop of one worker process (periodic tasks and due items, one claim
    of each per pass); ``stop`` before the database pool closes: a periodic run in progress
    hands its task back, a due batch in progress rolls back and its items stay due."""

    def __init__(
        self, settings: Settings, session_factory: SessionFactory, clock: Clock | None = None
    ) -> None:
        clock = clock or SystemClock()
        scheduling = settings.scheduling
        self._scheduling = SchedulingLoop(
            Scheduler(session_factory, periodic_tasks(settings, session_factory)),
            DueRunner(
                session_factory, due_handlers(settings, session_factory, clock), clock, scheduling
            ),
            poll_interval_s=scheduling.poll_interval_s,
            batch_size=scheduling.batch_size,
        )
        self._loop: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start claiming due tasks and items in the background."""
        self._loop = asyncio.create_task(self._scheduling.run(), name="worker-scheduling")

    async def stop(self) -> None:
        """Cancel the loop and wait for it (and the runs it cancels) to end."""
        if self._loop is not None:
            await cancel_and_wait([self._loop])
