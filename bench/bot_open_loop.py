"""The open-loop half of ``python -m bench.bot``: shoppers' updates arrive at a fixed rate,
whether or not the bot keeps up, the way real users load a bot.

Arrivals form a Poisson process at the step's rate. Each arrival hands one turn to a shopper
chosen at random among those not waiting for an answer, and that shopper pushes its next
update at once (a shopper's updates follow each other, as a person's taps do: the next
button is on the screen the previous tap drew). An arrival that finds every shopper waiting
is dropped and counted as an error: the bot is that far behind. Latency is from the push to
the fake Bot API receiving the answering call, as in the closed loop.

The rate steps up; our bot and the aiogram-dialog peer (our NATS KV storage under it) run
side by side and take each step in turn, so a machine that gets busier hits both alike. A
bot's sustainable rate is the highest step it served with p99 under ``SUSTAINABLE_P99_MS``
and no errors; a bot stops stepping after ``FAILURES_TO_STOP`` failed steps in a row.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import statistics
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.bot import (
    ACTION_TIMEOUT_S,
    FIRST_USER,
    ROOT,
    THROTTLE_ENV,
    Accepts,
    CatalogShopper,
    EchoShopper,
    Lost,
    Reaction,
    Shopper,
    Stopped,
    Tally,
    TimedTelegram,
    base_env,
    cpu_seconds,
    serve,
    wait_polling,
)
from devstack.nats import NatsServer, credentials_env
from devstack.processes import spawn
from tests.fakes.telegram_api import TOKEN
from tests.services import NATS_PASSWORDS, service_env, start_service, wait_for_status

SUSTAINABLE_P99_MS = 100.0
GOAL_PEER_RATIO = 0.8
GOAL_HALF_RATE_P99_MS = 50.0
FULL_RATES = (10.0, 20.0, 30.0, 40.0, 60.0, 80.0, 100.0, 130.0, 160.0, 200.0, 250.0, 300.0)
# A bot stops climbing after this many failed steps in a row: on a shared machine one bad
# window (another process's burst) is not the bot's limit.
FAILURES_TO_STOP = 2
QUICK_RATES = (10.0, 20.0)
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
    """A bot under test: its fake API, its shoppers, its process."""

    name: str
    telegram: TimedTelegram
    make_shopper: Callable[[int, Tally, asyncio.Event], OpenLoopMixin]
    pid: int


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
    cpu_percent: float  # of one core, the bot process
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
    pid = crowd.target.pid
    begin_at = asyncio.get_running_loop().time() + warmup_s
    arrivals = asyncio.create_task(_arrivals(crowd.turns, rate, begin_at + duration_s))
    await asyncio.sleep(warmup_s)
    cpu_before, begin = cpu_seconds(pid, tree=True), time.perf_counter()
    await arrivals
    cpu_after, end = cpu_seconds(pid, tree=True), time.perf_counter()
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


def catalog_shoppers(telegram: TimedTelegram, categories: int) -> Callable[..., OpenLoopMixin]:
    """Our bot's shoppers (users from ``FIRST_USER``)."""

    def make(index: int, tally: Tally, stop: asyncio.Event) -> OpenLoopMixin:
        return OpenLoopCatalogShopper(
            telegram, FIRST_USER + index, tally, stop, categories=categories
        )

    return make


def peer_shoppers(telegram: TimedTelegram) -> Callable[..., OpenLoopMixin]:
    """The dialog peer's shoppers (users from ``PEER_USERS``)."""

    def make(index: int, tally: Tally, stop: asyncio.Event) -> OpenLoopMixin:
        return OpenLoopEchoShopper(telegram, PEER_USERS + index, tally, stop, edits=True)

    return make


@dataclass
class Ladder:
    """Every step taken, per bot."""

    steps: dict[str, list[Step]] = field(default_factory=dict)
    half: dict[str, Step] = field(default_factory=dict)

    def sustainable(self, name: str) -> float:
        """The highest rate ``name`` sustained (0 when none)."""
        return max((s.offered for s in self.steps.get(name, []) if s.sustained), default=0.0)


async def climb(
    targets: list[Target],
    rates: tuple[float, ...],
    warmup_s: float,
    duration_s: float,
    report: Callable[[Step], None],
) -> Ladder:
    """Step the rate up, the targets alternating at each step, until each failed
    ``FAILURES_TO_STOP`` in a row; then each at half its sustainable rate."""
    ladder = Ladder({target.name: [] for target in targets})
    crowds = {
        target.name: Crowd(target, Turns(random.Random(target.name)))  # noqa: S311  (load)
        for target in targets
    }
    failed_in_a_row = {target.name: 0 for target in targets}
    climbing = list(targets)
    try:
        for rate in rates:
            for target in list(climbing):
                step = await run_step(crowds[target.name], rate, warmup_s, duration_s)
                ladder.steps[target.name].append(step)
                report(step)
                failed_in_a_row[target.name] = (
                    0 if step.sustained else failed_in_a_row[target.name] + 1
                )
                if failed_in_a_row[target.name] >= FAILURES_TO_STOP:
                    climbing.remove(target)
            if not climbing:
                break
        for target in targets:
            half = ladder.sustainable(target.name) / 2
            if half > 0:
                step = await run_step(crowds[target.name], half, warmup_s, duration_s)
                ladder.half[target.name] = step
                report(step)
    finally:
        for crowd in crowds.values():
            await crowd.close()
    return ladder


def step_header() -> str:
    """Column titles of ``format_step``."""
    return (
        f"{'bot':<22} {'offered/s':>9} {'achieved/s':>10} {'p50 ms':>7} {'p95 ms':>7} "
        f"{'p99 ms':>7} {'errors':>6} {'bot CPU %':>9} {'load':>5}"
    )


def format_step(step: Step) -> str:
    """One row: the step's figures, and whether it was sustained."""
    mark = "" if step.sustained else "  ✗"
    return (
        f"{step.name:<22} {step.offered:9.1f} {step.achieved:10.1f} {step.p50_ms:7.1f} "
        f"{step.p95_ms:7.1f} {step.p99_ms:7.1f} {step.errors:6d} {step.cpu_percent:9.0f} "
        f"{step.load:5.2f}{mark}"
    )


def verdicts(ladder: Ladder, ours: str, peer: str) -> list[str]:
    """The goals of the open loop, met or not, with the figures behind them."""
    lines = []
    mine, theirs = ladder.sustainable(ours), ladder.sustainable(peer)
    ratio = mine / theirs if theirs else float("nan")
    met = "met" if ratio >= GOAL_PEER_RATIO else "NOT met"
    lines.append(
        f"sustainable rate (p99 < {SUSTAINABLE_P99_MS:.0f} ms, no errors): {ours} {mine:.0f}/s, "
        f"{peer} {theirs:.0f}/s"
    )
    lines.append(f"{ours} / {peer}  {ratio:5.2f}×   goal ≥ {GOAL_PEER_RATIO}×: {met}")
    half = ladder.half.get(ours)
    if half is not None:
        met = "met" if half.p99_ms < GOAL_HALF_RATE_P99_MS and half.errors == 0 else "NOT met"
        lines.append(
            f"{ours} p99 at half its sustainable rate ({half.offered:.0f}/s): "
            f"{half.p99_ms:.1f} ms   goal < {GOAL_HALF_RATE_P99_MS:.0f} ms: {met}"
        )
    return lines


def ensure_rates(raw: Any) -> tuple[float, ...]:
    """``--rates 20,40,60`` as a sorted tuple; a clear message for anything else."""
    try:
        rates = tuple(sorted(float(part) for part in str(raw).split(",") if part.strip()))
    except ValueError:
        raise SystemExit(f"--rates: expected comma-separated numbers, got {raw!r}") from None
    if not rates or any(rate <= 0 for rate in rates):
        raise SystemExit(f"--rates: expected positive rates, got {raw!r}")
    return rates


# --- the two bots, started once and stepped in turn --------------------------------------


@contextlib.asynccontextmanager
async def our_bot(
    dsn: str, nats: NatsServer, logs: Path
) -> AsyncIterator[tuple[TimedTelegram, int]]:
    """Our bot process polling its own fake API (throttle out of the way, as in the closed
    loop): the fake and the process id."""
    telegram = TimedTelegram()
    runner = await serve(telegram)
    env = service_env(
        base_env(), database_dsn=dsn, nats_url=nats.url, telegram_url=telegram.url, token=TOKEN
    )
    bot, health = await start_service("bot", {**env, **THROTTLE_ENV}, logs)
    try:
        await wait_for_status(health, "/readyz", 200, bot)
        await asyncio.wait_for(telegram.polled.wait(), 30)
        yield telegram, bot.pid
    finally:
        await bot.stop(20)
        await runner.cleanup()


@contextlib.asynccontextmanager
async def dialog_peer(nats: NatsServer, logs: Path) -> AsyncIterator[tuple[TimedTelegram, int]]:
    """The aiogram-dialog peer on our NATS KV storage, as the bot's NATS user."""
    telegram = TimedTelegram()
    runner = await serve(telegram)
    env = {
        **base_env(),
        **credentials_env("bot", NATS_PASSWORDS),
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
    }
    command = [sys.executable, "-m", "bench.bot_echo", telegram.url, "--dialog-kv", nats.url]
    peer = await spawn("dialog-kv", command, env=env, log_file=str(logs / "dialog-kv.log"))
    try:
        await wait_polling(telegram, peer)
        yield telegram, peer.pid
    finally:
        await peer.stop(20)
        await runner.cleanup()


@dataclass(frozen=True)
class OpenLoopSetup:
    """What the open-loop run is asked for."""

    rates: tuple[float, ...]
    warmup_s: float
    duration_s: float
    categories: int
    logs: Path


OURS = "vitrina"
PEER = "aiogram-dialog + KV"


async def open_loop(setup: OpenLoopSetup, dsn: str, nats: NatsServer) -> Ladder:
    """Both bots up, the ladder climbed, every step printed as it ends."""
    async with our_bot(dsn, nats, setup.logs) as ours, dialog_peer(nats, setup.logs) as peer:
        targets = [
            Target(OURS, ours[0], catalog_shoppers(ours[0], setup.categories), ours[1]),
            Target(PEER, peer[0], peer_shoppers(peer[0]), peer[1]),
        ]
        print(step_header(), flush=True)
        return await climb(
            targets,
            setup.rates,
            setup.warmup_s,
            setup.duration_s,
            lambda step: print(format_step(step), flush=True),
        )
