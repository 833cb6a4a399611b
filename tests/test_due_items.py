"""Due items on the real Postgres, in process: scheduling moves and cancels them, a runner
handles each once inside its claiming transaction, a failing handler costs only its own
item an attempt, an unknown kind is kept aside until a worker that knows it starts, and
the worker's one scheduling loop handles them while a periodic task runs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from nats.aio.client import Client
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.conftest import db_settings_for
from tests.pipeline import wait_until
from vitrina_common.clock import ManualClock
from vitrina_common.config_scheduling import SchedulingSettings
from vitrina_common.db.engine import create_engine, create_session_factory
from vitrina_common.db.models import DueItemRow, ScheduledTask, SchedulerProbe
from vitrina_common.observability.collector import GaugeCollector
from vitrina_common.scheduling import (
    DueHandler,
    DueItem,
    DueRunner,
    PeriodicTask,
    Scheduler,
    SchedulingLoop,
    cancel_due,
    find_due,
    schedule_due,
)
from vitrina_common.scheduling.probe import PROBE_KIND, record_probe

pytestmark = pytest.mark.postgres

SessionFactory = async_sessionmaker[AsyncSession]
T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
SETTINGS = SchedulingSettings(batch_size=10, first_retry_s=60, max_retry_s=600)


async def schedule(sessions: SessionFactory, kind: str, key: str, due_at: datetime) -> None:
    async with sessions() as session, session.begin():
        await schedule_due(session, kind=kind, key=key, due_at=due_at, payload={"n": key})


async def item(sessions: SessionFactory, kind: str, key: str) -> DueItemRow | None:
    async with sessions() as session:
        return await session.scalar(
            select(DueItemRow).where(DueItemRow.kind == kind, DueItemRow.key == key)
        )


async def probes(sessions: SessionFactory) -> list[str]:
    async with sessions() as session:
        return list(await session.scalars(select(SchedulerProbe.key).order_by(SchedulerProbe.key)))


def runner(
    sessions: SessionFactory, clock: ManualClock, handlers: dict[str, DueHandler] | None = None
) -> DueRunner:
    return DueRunner(sessions, handlers or {PROBE_KIND: record_probe}, clock, SETTINGS)


async def test_scheduling_again_moves_the_item_and_cancelling_drops_it(
    session_factory: SessionFactory,
) -> None:
    await schedule(session_factory, "reminder", "order-1", T0)
    await schedule(session_factory, "reminder", "order-1", T0 + MINUTE)
    async with session_factory() as session:
        moved = await find_due(session, kind="reminder", key="order-1")
        count = await session.scalar(select(func.count()).select_from(DueItemRow))
    assert moved is not None
    assert (moved.due_at, moved.payload, count) == (T0 + MINUTE, {"n": "order-1"}, 1)

    async with session_factory() as session, session.begin():
        await cancel_due(session, kind="reminder", key="order-1")
        await cancel_due(session, kind="reminder", key="never-scheduled")
    assert await item(session_factory, "reminder", "order-1") is None


async def test_a_naive_due_time_is_refused(session_factory: SessionFactory) -> None:
    async with session_factory() as session:
        with pytest.raises(ValueError, match="timezone-aware"):
            await schedule_due(session, kind="k", key="1", due_at=datetime(2026, 12, 4))  # noqa: DTZ001


async def test_only_items_due_by_the_clock_are_handled_and_then_gone(
    session_factory: SessionFactory,
) -> None:
    clock = ManualClock(T0)
    await schedule(session_factory, PROBE_KIND, "now", T0)
    await schedule(session_factory, PROBE_KIND, "later", T0 + MINUTE)

    first = await runner(session_factory, clock).run_batch()
    clock.advance(MINUTE)
    second = await runner(session_factory, clock).run_batch()

    assert (first.handled, second.handled) == (1, 1)
    assert await probes(session_factory) == ["later", "now"]
    assert await item(session_factory, PROBE_KIND, "now") is None


async def test_a_failing_handler_costs_only_its_own_item_an_attempt(
    session_factory: SessionFactory,
) -> None:
    clock = ManualClock(T0)

    async def fail_on_b(session: AsyncSession, due: DueItem) -> None:
        await record_probe(session, due)  # undone with its transaction when it raises
        if due.key == "b":
            raise RuntimeError("printer on fire")

    for key in ("a", "b", "c"):
        await schedule(session_factory, PROBE_KIND, key, T0)

    outcome = await runner(session_factory, clock, {PROBE_KIND: fail_on_b}).run_batch()

    assert (outcome.handled, outcome.failed) == (2, 1)
    assert await probes(session_factory) == ["a", "c"]
    failed = await item(session_factory, PROBE_KIND, "b")
    assert failed is not None
    assert (failed.attempts, failed.last_error) == (1, "RuntimeError: printer on fire")
    assert failed.due_at == T0 + timedelta(seconds=60)
    # Not due again before its backoff; then handled, by a handler that works now.
    assert (await runner(session_factory, clock).run_batch()).claimed == 0
    clock.advance(MINUTE)
    assert (await runner(session_factory, clock).run_batch()).handled == 1
    assert await probes(session_factory) == ["a", "b", "c"]


async def test_a_handler_may_schedule_its_own_kind_and_key_again(
    session_factory: SessionFactory,
) -> None:
    clock = ManualClock(T0)

    async def every_minute(session: AsyncSession, due: DueItem) -> None:
        await record_probe(session, due)
        await schedule_due(session, kind=due.kind, key=due.key, due_at=due.due_at + MINUTE)

    await schedule(session_factory, PROBE_KIND, "tick", T0)
    await runner(session_factory, clock, {PROBE_KIND: every_minute}).run_batch()

    again = await item(session_factory, PROBE_KIND, "tick")
    assert again is not None
    assert (again.due_at, again.attempts) == (T0 + MINUTE, 0)


async def test_an_unknown_kind_is_kept_aside_and_revived_by_a_worker_that_knows_it(
    session_factory: SessionFactory,
) -> None:
    clock = ManualClock(T0)
    await schedule(session_factory, "from-the-next-version", "1", T0)

    outcome = await runner(session_factory, clock).run_batch()

    kept = await item(session_factory, "from-the-next-version", "1")
    assert outcome.unknown == 1
    assert kept is not None
    assert kept.dead_at == T0
    assert kept.last_error == "no handler for kind 'from-the-next-version' in this worker"
    assert (await runner(session_factory, clock).run_batch()).claimed == 0

    async def handle(session: AsyncSession, due: DueItem) -> None:
        await record_probe(session, due)

    upgraded = runner(session_factory, clock, {"from-the-next-version": handle})
    assert (await upgraded.run_batch()).handled == 1
    assert await probes(session_factory) == ["1"]


@pytest_asyncio.fixture(loop_scope="session")
async def replicas(database: str) -> AsyncIterator[list[SessionFactory]]:
    """Session factories of two worker replicas: two engines on one database."""
    engines = [create_engine(db_settings_for(database)) for _ in range(2)]
    yield [create_session_factory(engine) for engine in engines]
    for engine in engines:
        await engine.dispose()


async def test_two_runners_claiming_at_once_handle_each_item_once(
    replicas: list[SessionFactory],
) -> None:
    clock = ManualClock(T0)
    async with replicas[0]() as session, session.begin():
        for key in range(50):
            await schedule_due(session, kind=PROBE_KIND, key=str(key), due_at=T0)

    async def drain(sessions: SessionFactory) -> int:
        handled, due_runner = 0, runner(sessions, clock)
        while (outcome := await due_runner.run_batch()).claimed:
            handled += outcome.handled
        return handled

    counts = await asyncio.gather(*(drain(sessions) for sessions in replicas))

    assert sum(counts) == 50
    assert sorted(await probes(replicas[0]), key=int) == [str(key) for key in range(50)]


@pytest.mark.nats
async def test_the_scheduler_lag_gauge_counts_an_overdue_due_item(
    session_factory: SessionFactory, nats_client: Client
) -> None:
    await schedule(session_factory, PROBE_KIND, "late", datetime.now(UTC) - timedelta(hours=1))
    await schedule(session_factory, "unknown", "1", datetime.now(UTC) + timedelta(hours=1))
    async with session_factory() as session, session.begin():
        await session.execute(update(DueItemRow).where(DueItemRow.kind == "unknown").values(
            dead_at=func.now()))  # fmt: skip
    collector = GaugeCollector(session_factory, nats_client.jetstream(), consumers=())

    await collector.collect()

    [lag] = collector.database_value("scheduler_lag_s")
    [dead] = collector.database_value("due_items_dead")
    assert 3590 < lag.value < 3700
    assert dead.value == 1


async def test_a_handler_stuck_in_the_database_is_cut_off_and_only_its_item_waits(
    session_factory: SessionFactory,
) -> None:
    clock = ManualClock(T0)

    async def stuck_on_b(session: AsyncSession, due: DueItem) -> None:
        await record_probe(session, due)
        if due.key == "b":
            await session.execute(text("SELECT pg_sleep(30)"))

    for key in ("a", "b", "c"):
        await schedule(session_factory, PROBE_KIND, key, T0)
    # Long enough for "a" and "c" (one insert each) on a loaded machine, far below b's 30 s.
    settings = SETTINGS.model_copy(update={"handler_timeout_s": 3.0})
    stuck = DueRunner(session_factory, {PROBE_KIND: stuck_on_b}, clock, settings)

    outcome = await asyncio.wait_for(stuck.run_batch(), 20)

    assert (outcome.handled, outcome.failed) == (2, 1)
    assert await probes(session_factory) == ["a", "c"]
    waiting = await item(session_factory, PROBE_KIND, "b")
    assert waiting is not None
    assert (waiting.attempts, waiting.last_error) == (1, "took longer than 3 s")


async def test_the_loop_handles_due_items_while_a_periodic_run_goes_on_and_hands_it_back(
    session_factory: SessionFactory,
) -> None:
    running, release = asyncio.Event(), asyncio.Event()

    async def long_run() -> None:
        running.set()
        await release.wait()

    periodic = Scheduler(session_factory, [PeriodicTask("long", timedelta(hours=1), long_run)])
    due = runner(session_factory, ManualClock(datetime.now(UTC)))
    loop = SchedulingLoop(periodic, due, poll_interval_s=0.01, batch_size=SETTINGS.batch_size)
    await schedule(session_factory, PROBE_KIND, "meanwhile", datetime.now(UTC) - MINUTE)

    looping = asyncio.create_task(loop.run())
    await asyncio.wait_for(running.wait(), 10)

    async def handled() -> bool:
        return await probes(session_factory) == ["meanwhile"]

    await wait_until(handled, timeout_s=10, poll_s=0.05)
    looping.cancel()
    with pytest.raises(asyncio.CancelledError):
        await looping
    async with session_factory() as session:
        task = await session.get(ScheduledTask, "long")
    assert task is not None
    assert task.last_error is not None
    assert task.last_error.startswith("stopped before it finished")
