"""The worker's scheduler: periodic tasks and due items, run in the background of every
replica, each claimed from its rows by one replica at a time (``FOR UPDATE SKIP LOCKED``)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.clock import Clock, SystemClock
from vitrina_common.config import Settings
from vitrina_common.scheduling import DueRunner, PeriodicTask, Scheduler
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
    """The scheduler of one worker process: the periodic tasks' loop and the due items' loop
    side by side (a long retention run does not hold up a reservation's expiry). ``stop``
    before the database pool closes: a periodic run hands its task back, a due batch in
    progress rolls back and its items stay due."""

    def __init__(
        self, settings: Settings, session_factory: SessionFactory, clock: Clock | None = None
    ) -> None:
        clock = clock or SystemClock()
        self._periodic = Scheduler(session_factory, periodic_tasks(settings, session_factory))
        self._due = DueRunner(
            session_factory,
            due_handlers(settings, session_factory, clock),
            clock,
            settings.scheduling,
        )
        self._loops: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Start claiming due tasks and items in the background."""
        self._loops = [
            asyncio.create_task(self._periodic.run(), name="worker-scheduler"),
            asyncio.create_task(self._due.run(), name="worker-due-items"),
        ]

    async def stop(self) -> None:
        """Cancel the loops and wait for them (and a run they cancel) to end."""
        for loop in self._loops:
            loop.cancel()
        for loop in self._loops:
            with contextlib.suppress(asyncio.CancelledError):
                await loop
