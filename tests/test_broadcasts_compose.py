"""Audiences and scheduling of broadcasts, on the real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.broadcasts import ADMIN, add_shoppers, recipient_states, status_of
from tests.storefront import stock_shop
from vitrina_common.config import RetentionSettings
from vitrina_common.db.models import (
    Broadcast,
    BroadcastStatus,
    CategoryFollow,
    Language,
    Order,
    OrderStatus,
    Purchase,
    PurchaseStatus,
    RecipientState,
    User,
)
from vitrina_common.sending import OutgoingMessage
from vitrina_common.services.broadcasts import (
    Audience,
    ComposeBroadcasts,
    start_due,
)
from vitrina_common.services.retention import Retention

pytestmark = [pytest.mark.postgres]

SessionFactory = async_sessionmaker[AsyncSession]
NEWS = OutgoingMessage(text="News")


async def _buy(sessions: SessionFactory, chat: int, product_id: int) -> None:
    async with sessions() as session, session.begin():
        user = (
            await session.execute(User.__table__.select().where(User.telegram_id == chat))
        ).one()
        order = Order(
            user_id=user.id, product_id=product_id, price_stars=50, status=OrderStatus.PAID,
            invoice_payload=f"pay-{chat}", expires_at=datetime.now(UTC),
        )  # fmt: skip
        session.add(order)
        await session.flush()
        session.add(
            Purchase(
                order_id=order.id, user_id=user.id, product_id=product_id, price_stars=50,
                telegram_payment_charge_id=f"charge-{chat}", status=PurchaseStatus.PAID,
            )
        )  # fmt: skip


async def test_audience_filters_narrow_the_recipients(session_factory: SessionFactory) -> None:
    english = await add_shoppers(session_factory, 5)
    russian = await add_shoppers(session_factory, 3, first=200_000, language=Language.RU)
    prints = await stock_shop(session_factory, "Prints", ["Dawn"])
    await stock_shop(session_factory, "Posters", ["Dusk"])
    await _buy(session_factory, english[0], prints.product_ids[0])
    await _buy(session_factory, russian[0], prints.product_ids[0])
    async with session_factory() as session, session.begin():
        await session.execute(
            update(User)
            .where(User.telegram_id.in_(english[1:]))
            .values(updated_at=datetime.now(UTC) - timedelta(days=40))
        )
        await session.execute(
            update(User).where(User.telegram_id == russian[1]).values(is_blocked=True)
        )
    compose = ComposeBroadcasts(session_factory)

    assert await compose.count(Audience()) == 7
    assert await compose.count(Audience(language=Language.RU)) == 2
    assert await compose.count(Audience(buyers_of_category=prints.category_id)) == 2
    assert await compose.count(Audience(active_days=30)) == 3
    assert await compose.count(Audience(active_days=30, language=Language.EN)) == 1
    assert await compose.count(Audience(followers_of_category=prints.category_id)) == 0
    async with session_factory() as session, session.begin():
        [russian_id] = await session.scalars(select(User.id).where(User.telegram_id == russian[1]))
        [english_id] = await session.scalars(select(User.id).where(User.telegram_id == english[2]))
        for user_id in (russian_id, english_id):
            session.add(
                CategoryFollow(
                    user_id=user_id, category_id=prints.category_id, created_at=datetime.now(UTC)
                )
            )
    # The Russian follower blocked the bot: only the English one is in the audience.
    assert await compose.count(Audience(followers_of_category=prints.category_id)) == 1


async def test_scheduled_broadcast_chooses_its_recipients_when_due(
    session_factory: SessionFactory,
) -> None:
    await add_shoppers(session_factory, 3)
    compose = ComposeBroadcasts(session_factory)
    later = await compose.schedule(NEWS, Audience(), ADMIN, datetime.now(UTC) + timedelta(hours=1))
    due = await compose.schedule(NEWS, Audience(), ADMIN, datetime.now(UTC) - timedelta(seconds=1))
    await add_shoppers(session_factory, 2, first=300_000)  # joined after composing

    assert await start_due(session_factory) == 1
    assert await start_due(session_factory) == 0

    assert await status_of(session_factory, due) == BroadcastStatus.SENDING
    assert (await recipient_states(session_factory, due))[RecipientState.PENDING] == 5
    assert await status_of(session_factory, later) == BroadcastStatus.SCHEDULED
    assert sum((await recipient_states(session_factory, later)).values()) == 0


async def test_retention_deletes_recipients_of_ended_broadcasts_only(
    session_factory: SessionFactory,
) -> None:
    await add_shoppers(session_factory, 4)
    compose = ComposeBroadcasts(session_factory)
    ended, _ = await compose.start(NEWS, Audience(), ADMIN)
    running, _ = await compose.start(NEWS, Audience(), ADMIN)
    async with session_factory() as session, session.begin():
        await session.execute(
            update(Broadcast)
            .where(Broadcast.id.in_([ended, running]))
            .values(finished_at=datetime.now(UTC) - timedelta(days=31))
        )
        await session.execute(
            update(Broadcast).where(Broadcast.id == ended).values(status=BroadcastStatus.DONE)
        )

    report = await Retention(session_factory, RetentionSettings())()

    assert report.broadcast_recipients == 4
    assert sum((await recipient_states(session_factory, ended)).values()) == 0
    assert (await recipient_states(session_factory, running))[RecipientState.PENDING] == 4
    assert await status_of(session_factory, ended) == BroadcastStatus.DONE
