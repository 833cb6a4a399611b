"""Pause, resume and cancel a broadcast. Senders claim recipients of sending broadcasts
only, so a pause or a cancel stops new sends at once; the sends in flight (at most
``APP_CONF__SENDING__CONCURRENCY`` per replica) finish and are recorded."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.db.models import BroadcastStatus
from vitrina_common.repositories.broadcasts import BroadcastRepository

SessionFactory = async_sessionmaker[AsyncSession]

_FROM = {
    BroadcastStatus.PAUSED: (BroadcastStatus.SENDING,),
    BroadcastStatus.SENDING: (BroadcastStatus.PAUSED,),
    BroadcastStatus.CANCELLED: (
        BroadcastStatus.SCHEDULED,
        BroadcastStatus.SENDING,
        BroadcastStatus.PAUSED,
    ),
}


class ControlBroadcasts:
    """The admin's buttons on a running broadcast; each returns whether it applied."""

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    async def pause(self, broadcast_id: int) -> bool:
        """Stop sending; resumable."""
        return await self._move(broadcast_id, BroadcastStatus.PAUSED)

    async def resume(self, broadcast_id: int) -> bool:
        """Send the rest of a paused broadcast."""
        return await self._move(broadcast_id, BroadcastStatus.SENDING)

    async def cancel(self, broadcast_id: int) -> bool:
        """Stop for good; recipients not reached stay pending (``left`` in the report)."""
        return await self._move(broadcast_id, BroadcastStatus.CANCELLED)

    async def _move(self, broadcast_id: int, to: BroadcastStatus) -> bool:
        async with self._sessions() as session, session.begin():
            return await BroadcastRepository(session).set_status(broadcast_id, _FROM[to], to)
