"""The global send budget: senders in any number share one schedule of slots in NATS KV,
never more than the rate in any second, whatever their number."""

from __future__ import annotations

import asyncio
import time

import pytest
from nats.aio.client import Client

from tests.broadcasts import most_in_one_second
from vitrina_common.sending import GlobalBudget

pytestmark = [pytest.mark.nats]

RATE = 50.0


async def _taken_at(budget: GlobalBudget, takes: int) -> list[float]:
    times = []
    for _ in range(takes):
        await budget.take()
        times.append(time.monotonic())
    return times


def _most_in_one_second(times: list[float]) -> int:
    times = sorted(times)
    return max(
        sum(1 for other in times[i:] if other - start < 1.0) for i, start in enumerate(times)
    )


async def test_three_senders_together_stay_at_the_rate_of_one_budget(nats_client: Client) -> None:
    js = nats_client.jetstream()
    replicas = [await GlobalBudget.open(js, RATE) for _ in range(3)]

    started = time.monotonic()
    taken = await asyncio.gather(*(_taken_at(budget, 50) for budget in replicas))
    elapsed = time.monotonic() - started

    every = [moment for times in taken for moment in times]
    # 150 slots 1/50 s apart: about 3 s, as for one sender alone, not 1 s.
    assert elapsed >= (len(every) - 1) / RATE * 0.98
    assert most_in_one_second(every) <= RATE + 1
    assert all(len(times) == 50 for times in taken)


async def test_a_pause_holds_back_every_sender(nats_client: Client) -> None:
    js = nats_client.jetstream()
    first, second = GlobalBudget.open(js, RATE), GlobalBudget.open(js, RATE)
    pausing, waiting = await first, await second
    await pausing.take()

    await pausing.pause(1.5)
    started = time.monotonic()
    await waiting.take()

    assert time.monotonic() - started >= 1.4
