"""The broadcast senders of one worker process: ``concurrency`` loops that each claim, send
and record one recipient at a time, all drawing from the global budget."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.config import Settings
from vitrina_common.services.broadcasts import BroadcastDelivery, BroadcastProgress
from vitrina_worker.sending import SenderLoops, TelegramSending

SessionFactory = async_sessionmaker[AsyncSession]


class BroadcastSenders:
    """Start once ``TelegramSending`` is open; ``stop`` lets the sends in flight be recorded."""

    def __init__(self, settings: Settings, sessions: SessionFactory) -> None:
        self._settings = settings
        self._sessions = sessions
        self._loops = SenderLoops("broadcast-sender", settings.sending.poll_interval_s)

    def start(self, telegram: TelegramSending) -> None:
        """Start the sender loops, drawing from the shared budget."""
        sending = self._settings.sending
        sender = telegram.sender("broadcast")
        delivery = BroadcastDelivery(self._sessions, sender, sending)
        progress = BroadcastProgress(self._sessions, sender, sending)

        async def send_one(index: int) -> bool:
            step = await delivery.step()
            if step.broadcast_id is not None:
                await progress.maybe_report(step.broadcast_id)
                return True
            if index == 0:  # one loop a process closes the broadcasts with no one left
                await progress.finish_drained()
            return False

        self._loops.start(sending.concurrency, send_one)

    async def stop(self) -> None:
        """Cancel the loops (each records its send in flight first)."""
        await self._loops.stop()
