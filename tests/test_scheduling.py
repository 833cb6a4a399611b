"""Periodic tasks on the real Postgres: one run at a time across replicas, failures recorded
without stopping the loop, a schedule that survives restarts; and the worker process runs
its tasks on it."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.conftest import db_settings_for
from tests.pipeline import wait_until
from tests.services import start_service, wait_for_status
from vitrina_common.cancellation import cancel_and_wait
from vitrina_common.clock import SystemClock
from vitrina_common.config_scheduling import SchedulingSettings
from vitrina_common.db.engine import create_engine, create_session_factory
from vitrina_common.db.models import ScheduledTask, TelegramUpdate
from vitrina_common.scheduling import DueRunner, PeriodicTask, Scheduler, SchedulingLoop
from vitrina_common.services.retention import RETENTION_TASK

pytestmark = pytest.mark.postgres

SessionFactory = async_sessionmaker[AsyncSession]
HOURLY = timedelta(hours=1)


class Body:
    """A task's body that counts its runs and how many ran at once; ``behave`` says what
    the n-th run (1-based) does after it started."""

    def __init__(self, behave: Callable[[int], Awaitable[None]] | None = None) -> None:
        self.calls = 0
        self.running = 0
        self.most_at_once = 0
        self._behave = behave

    async def __call__(self) -> None:
        self.calls += 1
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            if self._behave is not None:
                await self._behave(self.calls)
        finally:
            self.running -= 1


@pytest_asyncio.fixture(loop_scope="session")
async def replicas(database: str) -> AsyncIterator[list[SessionFactory]]:
    """Session factories of two worker replicas: two engines on one database."""
    engines = [create_engine(db_settings_for(database)) for _ in range(2)]
    yield [create_session_factory(engine) for engine in engines]
    for engine in engines:
        await engine.dispose()


async def schedule_row(sessions: SessionFactory, name: str) -> ScheduledTask:
    async with sessions() as session:
        row = await session.get(ScheduledTask, name)
    assert row is not None
    return row


async def is_due_within(sessions: SessionFactory, name: str, delay: timedelta) -> bool:
    async with sessions() as session:
        due = await session.scalar(
            select(ScheduledTask.due_at <= func.now() + delay).where(ScheduledTask.name == name)
        )
    return bool(due)


async def make_due(sessions: SessionFactory, name: str) -> None:
    """As if the interval had passed."""
    async with sessions() as session, session.begin():
        await session.execute(
            update(ScheduledTask).where(ScheduledTask.name == name).values(due_at=func.now())
        )


def calls_reach(body: Body, calls: int) -> Callable[[], Awaitable[bool]]:
    async def reached() -> bool:
        return body.calls >= calls

    return reached


@contextlib.asynccontextmanager
async def looping(*replicas: tuple[SessionFactory, list[PeriodicTask]]) -> AsyncIterator[None]:
    """Each replica's scheduling loop over its periodic tasks (no due items) in the
    background, as in a worker process."""
    settings = SchedulingSettings(poll_interval_s=0.01)
    loops = [
        asyncio.create_task(
            SchedulingLoop(
                Scheduler(sessions, tasks),
                DueRunner(sessions, {}, SystemClock(), settings),
                poll_interval_s=settings.poll_interval_s,
                batch_size=settings.batch_size,
            ).run()
        )
        for sessions, tasks in replicas
    ]
    try:
        yield
    finally:
        await cancel_and_wait(loops)
        for loop in loops:
            assert loop.cancelled()


async def test_two_runners_on_one_database_run_a_due_task_once(
    replicas: list[SessionFactory],
) -> None:
    body = Body(lambda _: asyncio.sleep(0.3))
    task = PeriodicTask("cleanup", HOURLY, body)
    first, second = (Scheduler(sessions, [task]) for sessions in replicas)

    ran = await asyncio.gather(first.run_due(), second.run_due())
    again = await asyncio.gather(first.run_due(), second.run_due())

    assert set(ran) == {"cleanup", None}  # one ran it, the other found nothing due
    assert list(again) == [None, None]
    assert body.calls == 1
    row = await schedule_row(replicas[0], "cleanup")
    assert (row.runs, row.last_error) == (1, None)
    assert not await is_due_within(replicas[0], "cleanup", timedelta(minutes=59))


async def test_two_looping_runners_never_run_a_task_at_the_same_time(
    replicas: list[SessionFactory],
) -> None:
    body = Body(lambda _: asyncio.sleep(0.05))
    task = PeriodicTask("often", timedelta(milliseconds=20), body, timeout=timedelta(seconds=5))

    async with looping(*((sessions, [task]) for sessions in replicas)):
        await wait_until(calls_reach(body, 8), timeout_s=20, poll_s=0.05)

    assert body.most_at_once == 1
    assert (await schedule_row(replicas[0], "often")).runs == body.calls


async def test_a_failing_run_is_recorded_and_the_next_run_still_happens(
    session_factory: SessionFactory,
) -> None:
    async def fail_first(call: int) -> None:
        if call == 1:
            raise RuntimeError("disk on fire")

    flaky, steady = Body(fail_first), Body()
    scheduler = Scheduler(
        session_factory,
        [PeriodicTask("flaky", HOURLY, flaky), PeriodicTask("steady", HOURLY, steady)],
    )

    ran = {await scheduler.run_due(), await scheduler.run_due(), await scheduler.run_due()}

    assert ran == {"flaky", "steady", None}
    assert steady.calls == 1
    failed = await schedule_row(session_factory, "flaky")
    assert failed.last_error == "RuntimeError: disk on fire"
    assert failed.last_finished_at is not None
    assert not await is_due_within(session_factory, "flaky", timedelta(minutes=59))

    await make_due(session_factory, "flaky")
    assert await scheduler.run_due() == "flaky"
    recovered = await schedule_row(session_factory, "flaky")
    assert (recovered.runs, recovered.last_error, flaky.calls) == (2, None, 2)


async def test_the_loop_outlives_a_task_that_always_fails(
    session_factory: SessionFactory,
) -> None:
    async def fail(_: int) -> None:
        raise ValueError("always")

    body = Body(fail)
    task = PeriodicTask("doomed", timedelta(milliseconds=20), body, timeout=timedelta(seconds=5))

    async with looping((session_factory, [task])):
        await wait_until(calls_reach(body, 3), timeout_s=20, poll_s=0.05)

    assert (await schedule_row(session_factory, "doomed")).last_error == "ValueError: always"


async def test_a_run_past_its_time_limit_is_stopped_and_recorded(
    session_factory: SessionFactory,
) -> None:
    body = Body(lambda _: asyncio.sleep(30))
    task = PeriodicTask("slow", HOURLY, body, timeout=timedelta(milliseconds=200))

    assert await asyncio.wait_for(Scheduler(session_factory, [task]).run_due(), 10) == "slow"

    row = await schedule_row(session_factory, "slow")
    assert row.last_error == "stopped at its time limit of 0:00:00.200000"
    assert not await is_due_within(session_factory, "slow", timedelta(minutes=59))


async def test_a_restart_neither_repeats_nor_loses_the_schedule(
    replicas: list[SessionFactory],
) -> None:
    before, after = replicas  # the process before and after its restart
    body = Body()
    task = PeriodicTask("nightly", HOURLY, body)
    assert await Scheduler(before, [task]).run_due() == "nightly"

    restarted = Scheduler(after, [task])
    assert await restarted.run_due() is None

    await make_due(after, "nightly")
    assert await restarted.run_due() == "nightly"
    assert body.calls == 2


async def test_a_run_stopped_midway_is_due_again_at_once(replicas: list[SessionFactory]) -> None:
    started = asyncio.Event()

    async def hang_first(call: int) -> None:
        if call == 1:
            started.set()
            await asyncio.Event().wait()

    body = Body(hang_first)
    task = PeriodicTask("long", HOURLY, body)
    async with looping((replicas[0], [task])):
        await asyncio.wait_for(started.wait(), 10)

    row = await schedule_row(replicas[0], "long")
    assert row.last_error is not None
    assert row.last_error.startswith("stopped before it finished")
    assert await Scheduler(replicas[1], [task]).run_due() == "long"
    assert body.calls == 2


@pytest.mark.nats
@pytest.mark.slow
@pytest.mark.usefixtures("nats_client")
async def test_the_worker_process_runs_retention_on_its_schedule(
    stack_env: dict[str, str], session_factory: SessionFactory, tmp_path: Path
) -> None:
    async with session_factory() as session, session.begin():
        session.add(
            TelegramUpdate(update_id=1, kind="message", received_at=func.now() - timedelta(days=8))
        )

    process, port = await start_service("worker", stack_env, tmp_path)
    try:
        await wait_for_status(port, "/readyz", 200, process)

        async def retention_finished() -> bool:
            async with session_factory() as session:
                return bool(
                    await session.scalar(
                        select(ScheduledTask.last_finished_at.is_not(None)).where(
                            ScheduledTask.name == RETENTION_TASK
                        )
                    )
                )

        await wait_until(retention_finished, timeout_s=60)
    finally:
        code = await process.stop(timeout_s=15)

    assert code == 0
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(TelegramUpdate)) == 0
        row = await session.get(ScheduledTask, RETENTION_TASK)
    assert row is not None
    assert row.last_error is None
    log = (tmp_path / "worker.log").read_text().splitlines()
    lines = [json.loads(line) for line in log if line.startswith("{")]
    counts = [line for line in lines if line.get("event") == "retention deleted old rows"]
    assert counts[0]["telegram_updates"] == 1
