"""``python -m bench.broadcast``: 10 000 recipients against a fake Bot API that enforces
Telegram's 30 messages a second (429 beyond), with 1 and with 3 worker replicas sharing the
global budget, while simulated shoppers talk to the bot; ``--quick`` for a short run.

Printed per run: the achieved broadcast rate as a share of the budget and of Telegram's
limit, the 429s our processes caused, and the bot's reply latency p50/p99 while the
broadcast runs beside the same with nothing else going on.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory

import asyncpg

from bench.bot import base_env, migrate, provision
from bench.broadcast.harness import TimedTelegram, budget_cost, reply_latencies, serve
from bench.servers import bench_servers
from devstack.nats import NatsServer
from devstack.ports import free_port
from tests.fakes.telegram_api import TOKEN
from tests.services import nats_settings, service_env, start_service, wait_for_status
from vitrina_common.config import DbSettings, TelemetrySettings
from vitrina_common.db.engine import create_engine, create_session_factory
from vitrina_common.db.models import Language
from vitrina_common.logging import configure_logging
from vitrina_common.messaging.connection import connect_nats
from vitrina_common.sending import OutgoingMessage
from vitrina_common.services.broadcasts import Audience, ComposeBroadcasts

TELEGRAM_LIMIT_PER_S = 30
FIRST_RECIPIENT = 1_000_000
ADMIN = 42
# Shoppers talking to the bot during the broadcast: Russian-speaking, so the (English)
# broadcast's audience leaves them out and each chat's one-a-second limit holds. One
# /start a second, answered by the bot with two calls (the old menu's keyboard removed,
# the new menu sent): 2 of the 5 messages a second the default budget leaves them.
PROBES = [9_000_000 + index for index in range(20)]
PROBE_EVERY_S = 1.0


@dataclass(frozen=True)
class Result:
    replicas: int
    rate_per_s: float
    achieved_per_s: float
    refused: int
    # Who got them: broadcast recipients, the bot's replies, the admin's progress.
    refused_by: dict[str, int]
    idle_ms: tuple[float, float]
    busy_ms: tuple[float, float]
    seconds: float


def _p50_p99(latencies: list[float]) -> tuple[float, float]:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered) * 1000, p99 * 1000


async def _add_recipients(dsn: str, count: int) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("TRUNCATE broadcast_recipients, broadcasts, users CASCADE")
        await connection.execute(
            "INSERT INTO users (telegram_id, language) "
            "SELECT $1::bigint + g, 'en' FROM generate_series(0, $2::int - 1) AS g",
            FIRST_RECIPIENT,
            count,
        )
    finally:
        await connection.close()


def _refused_by(telegram: TimedTelegram) -> dict[str, int]:
    kinds: dict[str, int] = {}
    for call in telegram.calls:
        if call.method.endswith(":flood"):
            chat = call.params.get("chat_id")
            kind = "reply" if chat in PROBES else "progress" if chat == ADMIN else "broadcast"
            kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


async def _all_reached(telegram: TimedTelegram, chats: range) -> None:
    while True:
        if all(telegram.sent_to.get(chat) for chat in chats):
            return
        await asyncio.sleep(0.5)


@dataclass(frozen=True)
class Setup:
    replicas: int
    recipients: int
    rate: float
    probe_every_s: float


async def one_run(dsn: str, nats: NatsServer, logs: Path, setup: Setup) -> Result:
    """Idle latency, then the broadcast through ``replicas`` workers with latency beside."""
    replicas, rate = setup.replicas, setup.rate
    await _add_recipients(dsn, setup.recipients)
    telegram = TimedTelegram(TELEGRAM_LIMIT_PER_S)
    runner = await serve(telegram)
    env = service_env(
        base_env(), database_dsn=dsn, nats_url=nats.url, telegram_url=telegram.url, token=TOKEN
    )
    env |= {"APP_CONF__SENDING__RATE_PER_S": str(rate), "APP_CONF__TELEMETRY__LOG_LEVEL": "WARNING"}
    bot, health = await start_service("bot", env, logs / f"r{replicas}")
    workers = []
    engine = create_engine(DbSettings.model_validate({"dsn": dsn}))
    try:
        await wait_for_status(health, "/readyz", 200, bot)
        for index in range(replicas):
            worker_env = {**env, "APP_CONF__WORKER__HEALTH_PORT": str(free_port())}
            worker, port = await start_service("worker", worker_env, logs / f"r{replicas}-w{index}")
            await wait_for_status(port, "/readyz", 200, worker)
            workers.append(worker)
        stop = asyncio.Event()
        idle = asyncio.create_task(reply_latencies(telegram, PROBES, stop, setup.probe_every_s))
        await asyncio.sleep(10)
        stop.set()
        idle_latencies = await idle
        refused_before = telegram.flood.refused if telegram.flood else 0
        started = time.monotonic()
        broadcast_id, total = await ComposeBroadcasts(create_session_factory(engine)).start(
            OutgoingMessage(text="<b>Bench</b> broadcast"), Audience(language=Language.EN), ADMIN
        )
        stop = asyncio.Event()
        busy = asyncio.create_task(reply_latencies(telegram, PROBES, stop, setup.probe_every_s))
        recipients_range = range(FIRST_RECIPIENT, FIRST_RECIPIENT + total)
        await _all_reached(telegram, recipients_range)
        stop.set()
        busy_latencies = await busy
        seconds = time.monotonic() - started
        firsts = sorted(telegram.received[chat][0] for chat in recipients_range)
        achieved = (len(firsts) - 1) / (firsts[-1] - firsts[0])
        del broadcast_id
        refused = (telegram.flood.refused if telegram.flood else 0) - refused_before
        refused_by = _refused_by(telegram)
        twice = sum(telegram.sent_to[chat] - 1 for chat in recipients_range)
        if twice:
            print(f"  !! {twice} recipients got the broadcast twice", flush=True)
        return Result(replicas, rate, achieved, refused, refused_by, _p50_p99(idle_latencies),
                      _p50_p99(busy_latencies), seconds)  # fmt: skip
    finally:
        for worker in workers:
            await worker.stop(30)
        await bot.stop(20)
        await engine.dispose()
        await runner.cleanup()


def print_result(result: Result) -> None:
    """One line per run."""
    print(
        f"{result.replicas} replica(s), budget {result.rate_per_s:g}/s: "
        f"{result.achieved_per_s:6.2f} msg/s = {result.achieved_per_s / result.rate_per_s:6.1%} "
        f"of the budget, {result.achieved_per_s / TELEGRAM_LIMIT_PER_S:6.1%} of Telegram's "
        f"{TELEGRAM_LIMIT_PER_S}/s; 429s: {result.refused} {result.refused_by}; "
        "reply latency p50/p99 "
        f"idle {result.idle_ms[0]:.0f}/{result.idle_ms[1]:.0f} ms, during the broadcast "
        f"{result.busy_ms[0]:.0f}/{result.busy_ms[1]:.0f} ms ({result.seconds:.0f} s)",
        flush=True,
    )


async def print_budget_cost(nats: NatsServer) -> None:
    """The cost of one take of the shared budget, alone and with 3 racing replicas."""
    client = await connect_nats(nats_settings(nats.url, "worker"), name="bench-budget")
    try:
        for contenders in (1, 3):
            per_take_ms, lost = await budget_cost(client.jetstream(), contenders, 2000)
            print(
                f"budget take with {contenders} racing: {per_take_ms:.2f} ms per take"
                f" (wall time / takes of one racer), {lost:.1%} lost a race and read again",
                flush=True,
            )
    finally:
        await client.close()


async def run(
    recipients: int, replicas: list[int], rate: float, probe_every_s: float, logs: Path
) -> None:
    """Start the servers, then one run per replica count."""
    async with bench_servers("bench-broadcast") as servers:
        await servers.pg.ensure_database("bench_broadcast")
        dsn = servers.pg.dsn("bench_broadcast")
        await migrate(dsn)
        await provision(servers.nats)
        print(
            f"{recipients} recipients, fake Bot API at {TELEGRAM_LIMIT_PER_S}/s, a /start every"
            f" {probe_every_s:g} s",
            flush=True,
        )
        await print_budget_cost(servers.nats)
        for count in replicas:
            result = await one_run(
                dsn, servers.nats, logs, Setup(count, recipients, rate, probe_every_s)
            )
            print_result(result)


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(prog="python -m bench.broadcast")
    parser.add_argument("--quick", action="store_true", help="600 recipients")
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=25.0, help="APP_CONF__SENDING__RATE_PER_S")
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 3])
    parser.add_argument(
        "--probe-every", type=float, default=PROBE_EVERY_S, help="seconds between /start probes"
    )
    args = parser.parse_args()
    configure_logging(TelemetrySettings(log_level="WARNING"), "bench", sys.stderr)
    recipients = 600 if args.quick else args.recipients
    with TemporaryDirectory(prefix="vitrina-bench-broadcast-") as scratch:
        asyncio.run(run(recipients, args.replicas, args.rate, args.probe_every, Path(scratch)))


if __name__ == "__main__":
    main()
