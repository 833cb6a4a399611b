"""The open-loop half of ``python -m bench.bot``: shoppers' updates arrive at a fixed rate,
whether or not the bot keeps up, the way real users load a bot.

Arrivals form a Poisson process at the step's rate. Each arrival hands one turn to a shopper
chosen at random among those not waiting for an answer, and that shopper pushes its next
update at once (a shopper's updates follow each other, as a person's taps do: the next
button is on the screen the previous tap drew). An arrival that finds every shopper waiting
is dropped and counted as an error: the bot is that far behind. Latency is from the push to
the fake Bot API receiving the answering call, as in the closed loop.

``bench.bot_ladder`` steps the rate up for our bot and the peer in turn.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.bot import (
    ACTION_TIMEOUT_S,
    FIRST_USER,
    Accepts,
    CatalogShopper,
    EchoShopper,
    Lost,
    Reaction,
    Shopper,
    Stopped,
    Tally,
    TimedTelegram,
    cpu_seconds,
)

SUSTAINABLE_P99_MS = 100.0
# Each shopper taps about this often: the crowd grows with the rate (see ``Crowd``).
TAP_INTERVAL_S = 2.0
MIN_SHOPPERS = 20
# The peer's users: a range of their own (both bots share the FSM bucket and the token).
PEER_USERS = FIRST_USER + 1_000_000


@dataclass
class Turns:
    """Shoppers waiting for their next turn, and the arrivals that found none."""

    rng: random.Random
    idle: list[OpenLoopMixin] = field(default_factory=list)
    dropped: list[float] = field(default_factory=list)
    pushed: list[float] = field(default_factory=list)

    def give(self) -> None:
        """An arrival: a random idle shopper pushes its next update now."""
        if not self.idle:
            self.dropped.append(time.perf_counter())
            return
        index = self.rng.randrange(len(self.idle))
        self.idle[index], self.idle[-1] = self.idle[-1], self.idle[index]
        self.idle.pop().turn.set()

    def release_all(self) -> None:
        """The step is over: wake every waiting shopper (to stop)."""
        for shopper in self.idle:
            shopper.turn.set()
        self.idle.clear()


class OpenLoopMixin(Shopper):
    """A shopper that pushes each update only when an arrival gives it the turn."""

    turns: Turns
    turn: asyncio.Event

    def join(self, turns: Turns) -> None:
        """Take turns from ``turns``."""
        self.turns = turns
        self.turn = asyncio.Event()

    async def act(self, key: str, accepts: Accepts, push: Callable[[], object]) -> Reaction:
        """Wait for a turn, then push and wait for the answer as usual."""
        if self.stop.is_set():
            raise Stopped
        self.turns.idle.append(self)
        await self.turn.wait()
        self.turn.clear()
        if self.stop.is_set():
            raise Stopped
        self.turns.pushed.append(time.perf_counter())
        return await super().act(key, accepts, push)

    async def run(self) -> None:
        """As a closed-loop shopper, minus the pause after a lost update (arrivals pace)."""
        while not self.stop.is_set():
            try:
                await self.cycle()
            except Stopped:
                return
            except Lost as lost:  # tallied; the next cycle starts afresh
                self.tally.failures.append((time.perf_counter(), str(lost)))


class OpenLoopCatalogShopper(OpenLoopMixin, CatalogShopper):
    """Browses our catalog, one update per arrival."""


class OpenLoopEchoShopper(OpenLoopMixin, EchoShopper):
    """Taps the peer's dialog, one update per arrival."""


@dataclass(frozen=True)
class Target:
    """A bot under test: its fake API, its shoppers, its processes (one, or the replicas
    behind a webhook)."""

    name: str
    telegram: TimedTelegram
    make_shopper: Callable[[int, Tally, asyncio.Event], OpenLoopMixin]
    pids: tuple[int, ...]


@dataclass(frozen=True)
class Step:
    """One bot at one offered rate."""

    name: str
    offered: float
    achieved: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int
    cpu_percent: float  # of one core, the bot's processes together
    load: float  # the machine's 1-minute load average at the end of the step

    @property
    def sustained(self) -> bool:
        """p99 under the bar and nothing lost or dropped."""
        return self.p99_ms < SUSTAINABLE_P99_MS and self.errors == 0


def _quantiles(latencies: list[float]) -> tuple[float, float, float]:
    if len(latencies) < 2:
        nan = float("nan")
        return nan, nan, nan
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return cuts[49], cuts[94], cuts[98]


async def _arrivals(turns: Turns, rate: float, until: float) -> None:
    loop = asyncio.get_running_loop()
    due = loop.time()
    while True:
        due += turns.rng.expovariate(rate)
        if due >= until:
            return
        await asyncio.sleep(max(0.0, due - loop.time()))
        turns.give()


@dataclass
class Crowd:
    """A bot's shoppers over the whole run: more join as the rate steps up, so that each
    taps about every ``TAP_INTERVAL_S`` (a person reading a screen), and most are past their
    first /start when a step is measured."""

    target: Target
    turns: Turns
    tally: Tally = field(default_factory=Tally)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def grow(self, rate: float) -> None:
        """Enough shoppers for ``rate``."""
        wanted = max(MIN_SHOPPERS, round(rate * TAP_INTERVAL_S))
        for index in range(len(self.tasks), wanted):
            shopper = self.target.make_shopper(index, self.tally, self.stop)
            shopper.join(self.turns)
            self.tasks.append(asyncio.create_task(shopper.run()))

    async def close(self) -> None:
        """Stop every shopper (those waiting for an answer get ``ACTION_TIMEOUT_S``)."""
        self.stop.set()
        self.turns.release_all()
        _, pending = await asyncio.wait(self.tasks, timeout=ACTION_TIMEOUT_S + 2)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


async def run_step(crowd: Crowd, rate: float, warmup_s: float, duration_s: float) -> Step:
    """Poisson arrivals at ``rate`` for the warm-up plus the window; the window's figures
    (updates pushed in it)."""
    crowd.grow(rate)
    await asyncio.sleep(0)  # new shoppers idle before the first arrival
    pids = crowd.target.pids
    begin_at = asyncio.get_running_loop().time() + warmup_s
    arrivals = asyncio.create_task(_arrivals(crowd.turns, rate, begin_at + duration_s))
    await asyncio.sleep(warmup_s)
    cpu_before, begin = _cpu_seconds(pids), time.perf_counter()
    await arrivals
    cpu_after, end = _cpu_seconds(pids), time.perf_counter()
    await asyncio.sleep(1.0)  # the window's last answers
    window = [(pushed, done) for pushed, done in crowd.tally.samples if begin <= pushed < end]
    latencies = [(done - pushed) * 1000 for pushed, done in window]
    p50, p95, p99 = _quantiles(latencies)
    # Not answered a second after the window: lost, or as good as lost to the shopper.
    unanswered = sum(1 for at in crowd.turns.pushed if begin <= at < end) - len(window)
    dropped = sum(1 for at in crowd.turns.dropped if begin <= at < end)
    elapsed = end - begin
    return Step(
        name=crowd.target.name,
        offered=rate,
        achieved=len(window) / elapsed,
        p50_ms=p50,
        p95_ms=p95,
        p99_ms=p99,
        errors=max(0, unanswered) + dropped,
        cpu_percent=100 * (cpu_after - cpu_before) / elapsed,
        load=os.getloadavg()[0],
    )


def _cpu_seconds(pids: tuple[int, ...]) -> float:
    return sum(cpu_seconds(pid, tree=True) for pid in pids)


def catalog_shoppers(
    telegram: TimedTelegram, categories: int, first_user: int = FIRST_USER
) -> Callable[..., OpenLoopMixin]:
    """Our bot's shoppers (users from ``first_user``)."""

    def make(index: int, tally: Tally, stop: asyncio.Event) -> OpenLoopMixin:
        return OpenLoopCatalogShopper(
            telegram, first_user + index, tally, stop, categories=categories
        )

    return make


def peer_shoppers(telegram: TimedTelegram) -> Callable[..., OpenLoopMixin]:
    """The dialog peer's shoppers (users from ``PEER_USERS``)."""

    def make(index: int, tally: Tally, stop: asyncio.Event) -> OpenLoopMixin:
        return OpenLoopEchoShopper(telegram, PEER_USERS + index, tally, stop, edits=True)

    return make
