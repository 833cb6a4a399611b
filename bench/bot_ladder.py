"""The rate ladder of ``python -m bench.bot``'s open loop: our bot and the aiogram-dialog
peer (our NATS KV storage under it) run side by side and take each step in turn, so a machine
that gets busier hits both alike. A bot's sustainable rate is the highest step it served with
p99 under ``SUSTAINABLE_P99_MS`` and no errors; a bot stops stepping after
``FAILURES_TO_STOP`` failed steps in a row.
"""

from __future__ import annotations

import contextlib
import random
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.bot import ROOT, TimedTelegram, base_env, our_bot, serve, wait_polling
from bench.bot_open_loop import (
    SUSTAINABLE_P99_MS,
    Crowd,
    Step,
    Target,
    Turns,
    catalog_shoppers,
    peer_shoppers,
    run_step,
)
from devstack.nats import NatsServer, credentials_env
from devstack.processes import spawn
from tests.services import NATS_PASSWORDS

GOAL_PEER_RATIO = 0.8
GOAL_HALF_RATE_P99_MS = 50.0
FULL_RATES = (10.0, 20.0, 30.0, 40.0, 60.0, 80.0, 100.0, 130.0, 160.0, 200.0, 250.0, 300.0)
QUICK_RATES = (10.0, 20.0)
# A bot stops climbing after this many failed steps in a row: on a shared machine one bad
# window (another process's burst) is not the bot's limit.
FAILURES_TO_STOP = 2


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
    if not theirs:
        met = "not judged: the peer sustained no step (a busy machine?)"
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
            Target(OURS, ours[0], catalog_shoppers(ours[0], setup.categories), (ours[1],)),
            Target(PEER, peer[0], peer_shoppers(peer[0]), (peer[1],)),
        ]
        print(step_header(), flush=True)
        return await climb(
            targets,
            setup.rates,
            setup.warmup_s,
            setup.duration_s,
            lambda step: print(format_step(step), flush=True),
        )
