"""The broadcast senders of one worker process: ``concurrency`` loops that each claim, send
and record one recipient at a time, all drawing from the global budget."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.cancellation import cancel_and_wait, checked_sleep, raise_if_cancelled
from vitrina_common.config import Settings
from vitrina_common.logging import get_logger
from vitrina_common.services.broadcasts import BroadcastDelivery, BroadcastProgress
from vitrina_worker.sending import TelegramSending

log = get_logger(__name__)
SessionFactory = async_sessionmaker[AsyncSession]


class BroadcastSenders:
    """Start once ``TelegramSending`` is open; ``stop`` lets the sends in flight be recorded."""

    def __init__(self, settings: Settings, sessions: SessionFactory) -> None:
        self._settings = settings
        self._sessions = sessions
        self._loops: list[asyncio.Task[None]] = []

    def start(self, telegram: TelegramSending) -> None:
        """Start the sender loops, drawing from the shared budget."""
        sending = self._settings.sending
        sender = telegram.sender("broadcast")
        delivery = BroadcastDelivery(self._sessions, sender, sending)
        progress = BroadcastProgress(self._sessions, sender, sending)
        self._loops = [
            asyncio.create_task(
                self._loop(delivery, progress, first=index == 0), name=f"broadcast-sender-{index}"
            )
            for index in range(sending.concurrency)
        ]

    async def _loop(
        self, delivery: BroadcastDelivery, progress: BroadcastProgress, *, first: bool
    ) -> None:
        idle_s = self._settings.sending.poll_interval_s
        while True:
            raise_if_cancelled()
            try:
                step = await delivery.step()
                if step.broadcast_id is not None:
                    await progress.maybe_report(step.broadcast_id)
                    continue
                if first:
                    await progress.finish_drained()
            except Exception as error:  # noqa: BLE001  (a database hiccup: the next pass retries)
                log.warning(
                    "broadcast sender pass failed", error=f"{type(error).__name__}: {error}"
                )
            await checked_sleep(idle_s)

    async def stop(self) -> None:
        """Cancel the loops (each records its send in flight first)."""
        await cancel_and_wait(self._loops)
