"""Helpers for notification tests: shoppers by id, queuing a notice, and waiting for its
outcome."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.db.models import Notification, NotificationState, User
from vitrina_common.services.notifications import notify

SessionFactory = async_sessionmaker[AsyncSession]
DIGEST = "notifications.digest.new_products"


async def user_ids(sessions: SessionFactory, chats: Sequence[int]) -> list[int]:
    """The ``users.id`` of each chat, in the order given."""
    async with sessions() as session:
        rows = await session.execute(
            select(User.telegram_id, User.id).where(User.telegram_id.in_(chats))
        )
        by_chat = {int(chat): int(user) for chat, user in rows.all()}
    return [by_chat[chat] for chat in chats]


async def queue_digest(
    sessions: SessionFactory, user_id: int, now: datetime, *, key: str, urgent: bool = True
) -> bool:
    """A one-product digest for ``user_id`` in its own committed transaction."""
    async with sessions() as session, session.begin():
        return await notify(
            session,
            user_id=user_id,
            template=DIGEST,
            params={"count": 1, "items": "• <Sun & Sea>"},
            dedup_key=key,
            urgent=urgent,
            now=now,
        )


async def states(sessions: SessionFactory) -> dict[str, NotificationState]:
    """Every notification's state by dedup key."""
    async with sessions() as session:
        rows = await session.execute(select(Notification.dedup_key, Notification.state))
        return {str(key): NotificationState(state) for key, state in rows.all()}


async def wait_until_settled(sessions: SessionFactory, timeout_s: float = 30) -> None:
    """Until no notification is pending."""
    async with asyncio.timeout(timeout_s):
        while True:
            if NotificationState.PENDING not in (await states(sessions)).values():
                return
            await asyncio.sleep(0.1)
