"""Reminders to the admins about tickets waiting for the shop's answer: a periodic task of
the worker (``vitrina_common.scheduling``), at most one reminder per ticket per period.

A ticket waits from the moment it was opened or its author wrote after an answer
(``tickets.waiting_since``). Once it has waited ``reminder_hours``, and again after every
further ``reminder_hours`` while it still waits, the admins get one alert about it. Each
reminder is its period's number of the wait, which is also its outbox dedup key: a run
repeated (two replicas, a retry after a crash) records nothing twice.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.config import TicketSettings
from vitrina_common.logging import get_logger
from vitrina_common.notices import AdminAlert, enqueue_admin_alert
from vitrina_common.repositories.outbox import OutboxRepository
from vitrina_common.repositories.tickets import TicketRepository
from vitrina_common.scheduling import PeriodicTask

log = get_logger(__name__)

SessionFactory = async_sessionmaker[AsyncSession]
TICKET_REMINDERS_TASK = "ticket-reminders"
# How often the task looks for tickets due a reminder: a reminder comes at most this late.
CHECK_INTERVAL = timedelta(minutes=5)
# Tickets reminded of per transaction; a run goes on until none is due.
_BATCH = 100


class TicketReminders:
    """One run: remind the admins of every ticket due a reminder; how many were."""

    def __init__(self, session_factory: SessionFactory, settings: TicketSettings) -> None:
        self._session_factory = session_factory
        self._period = timedelta(hours=settings.reminder_hours)

    async def __call__(self) -> int:
        """Alert the admins once per due ticket, in batches of one transaction each."""
        total = 0
        while True:
            async with self._session_factory() as session, session.begin():
                tickets = TicketRepository(session)
                due = await tickets.due_reminders(self._period, _BATCH)
                outbox = OutboxRepository(session)
                for ticket in due:
                    # The wait is named by when it began (to the microsecond), the
                    # reminder by its period within that wait.
                    stamp = int(ticket.waiting_since.timestamp() * 1_000_000)
                    await enqueue_admin_alert(
                        outbox,
                        AdminAlert.TICKET_REMINDER,
                        f"ticket-reminder:{ticket.ticket_id}:{stamp}:{ticket.period}",
                        ticket=ticket.ticket_id,
                        subject=ticket.subject,
                        user=ticket.author_telegram_id,
                        hours=ticket.period * int(self._period.total_seconds() // 3600),
                    )
                await tickets.mark_reminded([ticket.ticket_id for ticket in due])
            total += len(due)
            if len(due) < _BATCH:
                if total:
                    log.info("admins reminded of waiting tickets", tickets=total)
                return total


def ticket_reminders_task(
    session_factory: SessionFactory, settings: TicketSettings
) -> PeriodicTask:
    """The reminders as the scheduler's periodic task, every ``CHECK_INTERVAL``."""
    return PeriodicTask(
        TICKET_REMINDERS_TASK, CHECK_INTERVAL, TicketReminders(session_factory, settings)
    )
