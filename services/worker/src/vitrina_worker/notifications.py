"""The notification senders of one worker process: loops that each claim, send and record
one due notification at a time, drawing from the budget the broadcasts use. With a
broadcast running, the loops of both queue for the same slots, so notifications keep
their share (``notification_concurrency`` of all loops) instead of waiting for its end."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.cancellation import cancel_and_wait, checked_sleep, raise_if_cancelled
from vitrina_common.clock import Clock
from vitrina_common.config import Settings
from vitrina_common.logging import get_logger
from vitrina_common.services.notifications import NotificationDelivery
from vitrina_worker.sending import TelegramSending

log = get_logger(__name__)
SessionFactory = async_sessionmaker[AsyncSession]


class NotificationSenders:
    """Start once ``TelegramSending`` is open; ``stop`` lets the sends in flight be recorded."""

    def __init__(self, settings: Settings, sessions: SessionFactory, clock: Clock) -> None:
        self._settings = settings
        self._sessions = sessions
        self._clock = clock
        self._loops: list[asyncio.Task[None]] = []

    def start(self, telegram: TelegramSending) -> None:
        """Start the sender loops."""
        sending = self._settings.sending
        delivery = NotificationDelivery(
            self._sessions, telegram.sender("notification"), sending, self._clock
        )
        self._loops = [
            asyncio.create_task(self._loop(delivery), name=f"notification-sender-{index}")
            for index in range(sending.notification_concurrency)
        ]

    async def _loop(self, delivery: NotificationDelivery) -> None:
        idle_s = self._settings.sending.poll_interval_s
        while True:
            raise_if_cancelled()
            try:
                if (await delivery.step()).notification_id is not None:
                    continue
            except Exception as error:  # noqa: BLE001  (a database hiccup: the next pass retries)
                log.warning(
                    "notification sender pass failed", error=f"{type(error).__name__}: {error}"
                )
            await checked_sleep(idle_s)

    async def stop(self) -> None:
        """Cancel the loops (each records its send in flight first)."""
        await cancel_and_wait(self._loops)
