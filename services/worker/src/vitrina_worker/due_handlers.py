"""The worker's handler of each kind of due item (see ``vitrina_common.scheduling.due``).

A handler runs inside the transaction that claims and deletes its item: it must not commit
and must not call Telegram (it enqueues a notification). Each feature adds its kind here,
one line, its handler living in ``libs/common`` beside the use case that schedules it.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.clock import Clock
from vitrina_common.config import Settings
from vitrina_common.scheduling.due import DueHandler
from vitrina_common.scheduling.probe import PROBE_KIND, record_probe
from vitrina_common.services.notifications.digests import DIGEST_KIND, digest_handler
from vitrina_common.services.waitlist.effects import RESERVATION_EXPIRY, RESERVATION_REMINDER
from vitrina_common.services.waitlist.expiry import ReservationExpiry, ReservationReminder
from vitrina_common.services.waitlist.handout import HandOutCopies, ReservationPolicy

__all__ = ["DueHandler", "due_handlers"]


def due_handlers(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
) -> dict[str, DueHandler]:
    """The handler of every kind this worker handles."""
    del sessions  # for handlers that need them; none of today's does
    handlers: dict[str, DueHandler] = {DIGEST_KIND: digest_handler(clock)}
    hand_out = HandOutCopies(clock, ReservationPolicy.from_settings(settings.waitlist))
    handlers[RESERVATION_EXPIRY] = ReservationExpiry(hand_out)
    handlers[RESERVATION_REMINDER] = ReservationReminder(clock)
    if settings.scheduling.probe_enabled:
        handlers[PROBE_KIND] = record_probe
    return handlers
