"""The update inbox on a real Postgres: every money update is attempted in a transaction of
its own under its row lock; failures back off and end dead with an alert; updates without
money are recorded for deduplication only and never replayed."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.db.models import OutboxMessage, TelegramUpdate, UpdateOutcome
from vitrina_common.notices import ALERT_ADMINS
from vitrina_common.repositories.updates import OpenUpdate
from vitrina_common.retry import RetryPolicy
from vitrina_common.services.inbox import IncomingUpdate, Settled, UpdateInbox

pytestmark = pytest.mark.postgres

SessionFactory = async_sessionmaker[AsyncSession]
PAYMENT = {"update_id": 0, "message": {"successful_payment": {}}}


def money(update_id: int, kind: str = "message") -> IncomingUpdate:
    return IncomingUpdate(update_id, kind, {**PAYMENT, "update_id": update_id})


class Handler:
    """Records what it handled; fails for the ids in ``failing``."""

    def __init__(self, failing: set[int] | None = None) -> None:
        self.failing = failing or set()
        self.handled: list[int] = []

    async def __call__(self, row: OpenUpdate) -> None:
        self.handled.append(row.update_id)
        if row.update_id in self.failing:
            raise RuntimeError(f"update {row.update_id} cannot be handled")


async def rows(sessions: SessionFactory) -> dict[int, TelegramUpdate]:
    async with sessions() as session:
        found = await session.execute(select(TelegramUpdate))
        return {row.update_id: row for row in found.scalars()}


async def make_due(sessions: SessionFactory) -> None:
    async with sessions() as session, session.begin():
        await session.execute(update(TelegramUpdate).values(next_attempt_at=func.now()))


async def test_updates_without_money_are_stored_without_payload_and_never_replayed(
    session_factory: SessionFactory,
) -> None:
    inbox = UpdateInbox(session_factory)
    await inbox.admit(
        [IncomingUpdate(1, "message", None), IncomingUpdate(2, "callback_query", None)]
    )
    handler = Handler()

    assert await inbox.replay_due(handler) == []
    assert handler.handled == []
    async with session_factory() as session:
        nulls = await session.scalar(
            select(func.count()).select_from(TelegramUpdate).where(TelegramUpdate.payload.is_(None))
        )
    assert nulls == 2


async def test_a_failing_update_does_not_hold_back_the_ones_behind_it(
    session_factory: SessionFactory,
) -> None:
    inbox = UpdateInbox(session_factory)
    await inbox.admit([money(10), money(11), money(12)])
    handler = Handler(failing={10})

    settled = await inbox.replay_due(handler)

    assert settled == [Settled.FAILED, Settled.PROCESSED, Settled.PROCESSED]
    stored = await rows(session_factory)
    assert (stored[10].attempts, stored[10].processed_at) == (1, None)
    assert "cannot be handled" in (stored[10].last_error or "")
    assert stored[11].outcome is stored[12].outcome is UpdateOutcome.PROCESSED


async def test_a_failure_is_retried_only_after_its_backoff(session_factory: SessionFactory) -> None:
    inbox = UpdateInbox(session_factory, RetryPolicy(max_attempts=5, first_delay_s=60))
    await inbox.admit([money(20)])
    handler = Handler(failing={20})

    assert await inbox.replay_due(handler) == [Settled.FAILED]
    assert await inbox.replay_due(handler) == []  # not due for a minute
    async with session_factory() as session:
        wait_s = await session.scalar(
            select(func.extract("epoch", TelegramUpdate.next_attempt_at - func.now())).where(
                TelegramUpdate.update_id == 20
            )
        )
    assert wait_s is not None
    assert 55 < float(wait_s) <= 60


async def test_an_update_that_fails_every_attempt_goes_dead_and_alerts_the_admins(
    session_factory: SessionFactory,
) -> None:
    inbox = UpdateInbox(session_factory, RetryPolicy(max_attempts=3, first_delay_s=0.01))
    await inbox.admit([money(30)])
    handler = Handler(failing={30})

    outcomes = []
    for _ in range(4):
        await make_due(session_factory)
        outcomes += await inbox.replay_due(handler)

    assert outcomes == [Settled.FAILED, Settled.FAILED, Settled.DEAD]
    stored = (await rows(session_factory))[30]
    assert (stored.outcome, stored.attempts) == (UpdateOutcome.DEAD, 3)
    async with session_factory() as session:
        alert = (await session.execute(select(OutboxMessage))).scalar_one()
    assert alert.kind == ALERT_ADMINS
    assert alert.payload["code"] == "inbox_dead"
    assert alert.payload["arguments"]["update_id"] == 30


async def test_a_stale_pre_checkout_is_closed_expired_without_being_handled(
    session_factory: SessionFactory,
) -> None:
    inbox = UpdateInbox(session_factory)
    await inbox.admit([money(40, "pre_checkout_query"), money(41, "pre_checkout_query")])
    async with session_factory() as session, session.begin():
        await session.execute(
            update(TelegramUpdate)
            .where(TelegramUpdate.update_id == 40)
            .values(received_at=text("now() - interval '11 seconds'"))
        )
    handler = Handler()

    settled = await inbox.replay_due(handler)

    assert settled == [Settled.EXPIRED, Settled.PROCESSED]
    assert handler.handled == [41]
    assert (await rows(session_factory))[40].outcome is UpdateOutcome.EXPIRED


async def test_an_update_held_elsewhere_is_skipped_then_handled_once(
    session_factory: SessionFactory,
) -> None:
    inbox = UpdateInbox(session_factory)
    await inbox.admit([money(50)])
    handler = Handler()
    async with session_factory() as other, other.begin():
        await other.execute(
            select(TelegramUpdate).where(TelegramUpdate.update_id == 50).with_for_update()
        )
        assert await inbox.process(50, handler) is Settled.SKIPPED
        assert await inbox.replay_due(handler) == []

    outcomes = await asyncio.gather(*(inbox.process(50, handler) for _ in range(5)))

    assert sorted(outcomes) == sorted([Settled.PROCESSED] + [Settled.SKIPPED] * 4)
    assert handler.handled == [50]
