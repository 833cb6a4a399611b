"""Background loops stop on cancel even when a library swallowed the CancelledError."""

from __future__ import annotations

import asyncio
from typing import cast

import pytest
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.cancellation import checked_sleep, raise_if_cancelled
from vitrina_common.messaging.topology import IMPORT_ROW_CONSUMER, RENDER_PREVIEW_CONSUMER
from vitrina_common.observability.collector import GaugeCollector


async def test_wait_for_in_python_3_11_swallows_a_cancel_that_meets_a_result() -> None:
    # The premise of the checkpoint: if this starts failing (Python 3.12+), the
    # checkpoints are harmless but no longer needed.
    reply: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    outcome: list[str] = []

    async def request() -> None:
        outcome.append(await asyncio.wait_for(reply, timeout=10))

    task = asyncio.create_task(request())
    await asyncio.sleep(0)
    reply.set_result("reply")
    task.cancel()
    await task

    assert outcome == ["reply"]
    assert not task.cancelled()


async def test_a_loop_with_a_checkpoint_stops_one_pass_after_a_swallowed_cancel() -> None:
    replies: asyncio.Queue[asyncio.Future[str]] = asyncio.Queue()
    passes: list[str] = []

    async def fetch_loop() -> None:
        while True:
            raise_if_cancelled()
            reply: asyncio.Future[str] = asyncio.get_running_loop().create_future()
            await replies.put(reply)
            passes.append(await asyncio.wait_for(reply, timeout=10))

    task = asyncio.create_task(fetch_loop())
    pending = await replies.get()
    pending.set_result("handled")
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(5):
            await task
    assert passes == ["handled"]  # the reply that met the cancel was still handled


async def test_checked_sleep_does_not_pause_a_loop_whose_cancel_was_swallowed() -> None:
    reply: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def poll_then_pause() -> None:
        await asyncio.wait_for(reply, timeout=10)
        await checked_sleep(3600)

    task = asyncio.create_task(poll_then_pause())
    await asyncio.sleep(0)
    reply.set_result("reply")
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(5):
            await task


async def test_checked_sleep_sleeps_when_nothing_asked_to_stop() -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    await checked_sleep(0.05)
    assert loop.time() - started >= 0.05


class _SlowJetStream:
    """Answers ``consumer_info`` the way nats.py does: through ``asyncio.wait_for``, with
    a reply the test releases."""

    def __init__(self) -> None:
        self.requests: asyncio.Queue[asyncio.Future[object]] = asyncio.Queue()

    async def consumer_info(self, stream: str, durable: str, timeout: float) -> object:  # noqa: ASYNC109  (nats.py's signature)
        del stream, durable
        reply: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        await self.requests.put(reply)
        return await asyncio.wait_for(reply, timeout)


class _DatabaseAway:
    """A session factory whose sessions cannot connect (the collector logs and goes on)."""

    def __call__(self) -> _DatabaseAway:
        return self

    async def __aenter__(self) -> None:
        raise ConnectionRefusedError


async def test_the_gauge_collector_stops_when_its_cancel_meets_a_consumer_info_reply() -> None:
    js = _SlowJetStream()
    collector = GaugeCollector(
        cast("async_sessionmaker[AsyncSession]", _DatabaseAway()),
        cast("JetStreamContext", js),
        [RENDER_PREVIEW_CONSUMER, IMPORT_ROW_CONSUMER],
        interval_s=3600,
    )
    task = asyncio.create_task(collector.run())
    first = await js.requests.get()
    first.set_exception(TimeoutError())  # what the reply carried does not matter
    task.cancel()
    second = await js.requests.get()  # the pass went on: the cancel was swallowed
    second.set_exception(TimeoutError())

    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(5):  # not the 3600 s interval
            await task
