"""The notification senders of one worker process: loops that each claim, send and record
one due notification at a time, drawing from the budget the broadcasts use. With a
broadcast running, the loops of both queue for the same slots, so notifications keep
their share (``notification_concurrency`` of all loops) instead of waiting for its end."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.clock import Clock
from vitrina_common.config import Settings
from vitrina_common.services.notifications import NotificationDelivery
from vitrina_worker.sending import SenderLoops, TelegramSending

SessionFactory = async_sessionmaker[AsyncSession]


class NotificationSenders:
    """Start once ``TelegramSending`` is open; ``stop`` lets the sends in flight be recorded."""

    def __init__(self, settings: Settings, sessions: SessionFactory, clock: Clock) -> None:
        self._settings = settings
        self._sessions = sessions
        self._clock = clock
        self._loops = SenderLoops("notification-sender", settings.sending.poll_interval_s)

    def start(self, telegram: TelegramSending) -> None:
        """Start the sender loops."""
        sending = self._settings.sending
        delivery = NotificationDelivery(
            self._sessions, telegram.sender("notification"), sending, self._clock
        )

        async def send_one(_index: int) -> bool:
            return (await delivery.step()).notification_id is not None

        self._loops.start(sending.notification_concurrency, send_one)

    async def stop(self) -> None:
        """Cancel the loops (each records its send in flight first)."""
        await self._loops.stop()
