"""The worker's periodic tasks, run in the background of every replica by a ``Scheduler``
(which makes sure one replica at a time runs each)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.config import Settings
from vitrina_common.scheduling import PeriodicTask, Scheduler
from vitrina_common.services.broadcasts import start_due
from vitrina_common.services.retention import retention_task
from vitrina_common.services.tickets import ticket_reminders_task

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
    """The scheduler loop of one worker process; ``stop`` before the database pool closes
    (a run in progress hands its task back on the way out)."""

    def __init__(self, settings: Settings, session_factory: SessionFactory) -> None:
        self._scheduler = Scheduler(session_factory, periodic_tasks(settings, session_factory))
        self._loop: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start claiming due tasks in the background."""
        self._loop = asyncio.create_task(self._scheduler.run(), name="worker-scheduler")

    async def stop(self) -> None:
        """Cancel the loop and wait for it (and a run it cancels) to end."""
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
