"""Composing a broadcast: count its audience, then send it now or at a set time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.db.models import BroadcastStatus
from vitrina_common.repositories.broadcasts import BroadcastRepository
from vitrina_common.sending import OutgoingMessage
from vitrina_common.services.broadcasts.audience import Audience, audience_condition

SessionFactory = async_sessionmaker[AsyncSession]


class ComposeBroadcasts:
    """The admin's use cases before a broadcast starts."""

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    async def count(self, audience: Audience) -> int:
        """How many shoppers ``audience`` reaches now."""
        async with self._sessions() as session:
            return await BroadcastRepository(session).count_users(audience_condition(audience))

    async def start(
        self, message: OutgoingMessage, audience: Audience, admin_chat_id: int
    ) -> tuple[int, int]:
        """Create the broadcast and choose its recipients now, once; (id, recipients).
        The worker replicas start sending at once."""
        condition = audience_condition(audience)
        async with self._sessions() as session, session.begin():
            broadcasts = BroadcastRepository(session)
            broadcast_id = await broadcasts.add(
                content=message.model_dump(mode="json"),
                audience=audience.model_dump(mode="json"),
                admin_chat_id=admin_chat_id,
                status=BroadcastStatus.SCHEDULED,
                send_at=None,
            )
            total = await broadcasts.materialise(broadcast_id, condition)
        return broadcast_id, total

    async def schedule(
        self, message: OutgoingMessage, audience: Audience, admin_chat_id: int, send_at: datetime
    ) -> int:
        """Create a broadcast that starts at ``send_at``; its recipients are chosen then
        (``start_due``), so shoppers who joined meanwhile get it too."""
        audience_condition(audience)  # refuses an unsupported filter now, not at send time
        async with self._sessions() as session, session.begin():
            return await BroadcastRepository(session).add(
                content=message.model_dump(mode="json"),
                audience=audience.model_dump(mode="json"),
                admin_chat_id=admin_chat_id,
                status=BroadcastStatus.SCHEDULED,
                send_at=send_at,
            )


async def start_due(sessions: SessionFactory) -> int:
    """Start every scheduled broadcast whose time has come (a periodic task of the worker,
    one replica at a time); how many started. Each starts in its own transaction."""
    started = 0
    while True:
        async with sessions() as session, session.begin():
            broadcasts = BroadcastRepository(session)
            broadcast_id = await broadcasts.lock_due_scheduled()
            if broadcast_id is None:
                return started
            broadcast = await broadcasts.get(broadcast_id)
            if broadcast is None:  # locked above: cannot vanish
                return started
            audience = Audience.model_validate(broadcast.audience)
            await broadcasts.materialise(broadcast_id, audience_condition(audience))
        started += 1
