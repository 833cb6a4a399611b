"""Retention of notifications: settled ones go after their age, pending ones never."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.broadcasts import add_shoppers
from tests.notifications import queue_digest, user_ids
from vitrina_common.config import RetentionSettings
from vitrina_common.db.models import Notification, NotificationState
from vitrina_common.services.retention import Retention

pytestmark = pytest.mark.postgres

SessionFactory = async_sessionmaker[AsyncSession]


async def test_settled_notifications_go_after_their_age_and_pending_ones_stay(
    session_factory: SessionFactory,
) -> None:
    [user] = await user_ids(session_factory, await add_shoppers(session_factory, 1))
    now = datetime.now(UTC)
    ages = {"old-sent": 31, "old-pending": 400, "recent-sent": 29, "old-skipped": 31}
    for key in ages:
        assert await queue_digest(session_factory, user, now, key=key)
    async with session_factory() as session, session.begin():
        for key, days in ages.items():
            state = NotificationState.PENDING if "pending" in key else NotificationState.SENT
            if "skipped" in key:
                state = NotificationState.SKIPPED
            await session.execute(
                update(Notification)
                .where(Notification.dedup_key == key)
                .values(state=state, created_at=func.now() - timedelta(days=days))
            )

    report = await Retention(session_factory, RetentionSettings())()

    assert report.notifications == 2
    async with session_factory() as session:
        kept = set(await session.scalars(select(Notification.dedup_key)))
    assert kept == {"old-pending", "recent-sent"}
