"""``python -m bench.bot_webhook``: does a webhook bot scale out? One replica against two.

Telegram POSTs each update to the webhook URL, and a Kubernetes Service spreads those POSTs
over the replicas; here the fake Bot API POSTs every update a shopper pushes to the bot
processes in turn (one POST per update, many at once, as Telegram's ``max_connections``
allows). Both set-ups run on the same Postgres, NATS and catalog: one bot process, and two
bot processes, each started in webhook mode as in production. They climb the open-loop
rate ladder of ``bench.bot`` (Poisson arrivals, p99 < 100 ms and nothing lost to count a
step as sustained), taking each step in turn so the machine's other load hits both alike.

The goal: two processes on two cores sustain at least 1.8× one. On a 2-core machine the
bots share those cores with Postgres, NATS and this harness, which the CPU columns show:
"bot CPU %" is the bot processes' share of one core, summed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench.bot import (
    FIRST_USER,
    THROTTLE_ENV,
    TimedTelegram,
    base_env,
    fill_ladder_defaults,
    serve,
    stocked_shop,
    with_logs,
)
from bench.bot_ladder import QUICK_RATES, climb, ensure_rates, format_step, step_header
from bench.bot_open_loop import Target, catalog_shoppers
from bench.machine import load_average
from devstack.nats import NatsServer
from devstack.ports import LOOPBACK, free_port
from devstack.processes import ManagedProcess
from tests.fakes.telegram_api import TOKEN
from tests.services import service_env, start_service, wait_for_status
from vitrina_common.config import TelemetrySettings
from vitrina_common.logging import configure_logging

GOAL_SCALING = 1.8
SECRET = "bench-webhook-secret"  # noqa: S105  (the fake API and the bots only)
WEBHOOK_PATH = "/telegram/webhook"
RATES = (20.0, 40.0, 60.0, 80.0, 100.0, 130.0, 160.0, 200.0, 250.0)
# Telegram's default max_connections: POSTs in flight to one webhook at most.
MAX_CONNECTIONS = 40
# Each set-up's users and update ids apart: they share the database and the FSM bucket.
USERS_APART = 1_000_000
UPDATE_IDS_APART = 100_000_000


@dataclass
class WebhookTelegram(TimedTelegram):
    """The fake Bot API, delivering each pushed update by POSTing it to a replica in turn
    instead of handing it to ``getUpdates``."""

    replicas: list[str] = field(default_factory=list)
    failed_posts: int = 0
    _next_replica: itertools.cycle[str] | None = None
    _http: aiohttp.ClientSession | None = None
    _posts: set[asyncio.Task[None]] = field(default_factory=set)

    def push_update(self, update: dict[str, Any]) -> int:
        update_id = next(self._update_ids)
        if self._http is None:
            connector = aiohttp.TCPConnector(limit=MAX_CONNECTIONS * len(self.replicas))
            self._http = aiohttp.ClientSession(connector=connector)
            self._next_replica = itertools.cycle(self.replicas)
        assert self._next_replica is not None
        post = asyncio.create_task(self._post(next(self._next_replica), update_id, update))
        self._posts.add(post)
        post.add_done_callback(self._posts.discard)
        return update_id

    async def _post(self, url: str, update_id: int, update: dict[str, Any]) -> None:
        assert self._http is not None
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        try:
            async with self._http.post(
                url, json={"update_id": update_id, **update}, headers=headers
            ) as response:
                if response.status != 200:
                    self.failed_posts += 1
        except aiohttp.ClientError:
            self.failed_posts += 1

    async def close(self) -> None:
        """Wait for the POSTs in flight, then close the client."""
        if self._posts:
            await asyncio.wait(self._posts, timeout=10)
        if self._http is not None:
            await self._http.close()


@dataclass(frozen=True)
class Replicas:
    """A webhook set-up: its fake API and its bot processes."""

    name: str
    telegram: WebhookTelegram
    processes: list[ManagedProcess]
    first_user: int


@contextlib.asynccontextmanager
async def webhook_bots(
    name: str, count: int, offset: int, dsn: str, nats: NatsServer, logs: Path
) -> AsyncIterator[Replicas]:
    """``count`` bot processes in webhook mode behind one fake API."""
    telegram = WebhookTelegram(_update_ids=itertools.count(1 + offset * UPDATE_IDS_APART))
    runner = await serve(telegram)
    processes: list[ManagedProcess] = []
    try:
        for index in range(count):
            port = free_port()
            env = service_env(
                base_env(), database_dsn=dsn, nats_url=nats.url, telegram_url=telegram.url,
                token=TOKEN,
            )  # fmt: skip
            env |= THROTTLE_ENV | {
                "APP_CONF__BOT__MODE": "webhook",
                "APP_CONF__BOT__WEBHOOK_URL": f"https://shop.test{WEBHOOK_PATH}",
                "APP_CONF__BOT__WEBHOOK_SECRET": SECRET,
                "APP_CONF__BOT__WEBHOOK_PORT": str(port),
                "APP_CONF__BOT__WEBHOOK_PATH": WEBHOOK_PATH,
            }
            replica_logs = logs / f"{name.replace(' ', '-')}-{index}"
            replica_logs.mkdir(parents=True, exist_ok=True)
            bot, health = await start_service("bot", env, replica_logs)
            processes.append(bot)
            await wait_for_status(health, "/readyz", 200, bot)
            telegram.replicas.append(f"http://{LOOPBACK}:{port}{WEBHOOK_PATH}")
        yield Replicas(name, telegram, processes, FIRST_USER + offset * USERS_APART)
    finally:
        await telegram.close()
        for process in processes:
            await process.stop(20)
        await runner.cleanup()


async def run(args: argparse.Namespace, logs: Path) -> None:
    """Both set-ups up on one shop, the ladder climbed, the ratio printed."""
    async with stocked_shop("bench-bot-webhook", args.products, args.categories) as (
        servers,
        dsn,
    ):
        print(
            f"webhook mode, {args.warmup:.0f} s warm-up + {args.step:.0f} s measured per step",
            flush=True,
        )
        async with (
            webhook_bots("webhook ×1", 1, 0, dsn, servers.nats, logs) as one,
            webhook_bots("webhook ×2", 2, 1, dsn, servers.nats, logs) as two,
        ):
            targets = [
                Target(
                    replicas.name,
                    replicas.telegram,
                    catalog_shoppers(replicas.telegram, args.categories, replicas.first_user),
                    tuple(process.pid for process in replicas.processes),
                )
                for replicas in (one, two)
            ]
            print(step_header(), flush=True)
            ladder = await climb(
                targets, args.rates, args.warmup, args.step,
                lambda step: print(format_step(step), flush=True),
            )  # fmt: skip
            failed = one.telegram.failed_posts + two.telegram.failed_posts
    single, double = ladder.sustainable(one.name), ladder.sustainable(two.name)
    ratio = double / single if single else float("nan")
    met = "met" if ratio >= GOAL_SCALING else "NOT met"
    print()
    print(f"sustainable rate: 1 process {single:.0f}/s, 2 processes {double:.0f}/s")
    print(f"2 processes / 1 process  {ratio:5.2f}×   goal ≥ {GOAL_SCALING}×: {met}")
    print(f"webhook POSTs answered other than 200: {failed}")
    print(f"at the end: {load_average()}")


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(prog="python -m bench.bot_webhook")
    parser.add_argument("--rates", help="rates to step through, e.g. 20,40,80")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 2 short, slow steps")
    parser.add_argument("--step", type=float, default=None, help="measured seconds per step")
    parser.add_argument("--warmup", type=float, default=None, help="seconds before measuring")
    parser.add_argument("--products", type=int, default=None)
    parser.add_argument("--categories", type=int, default=4)
    parser.add_argument("--logs", help="keep the bots' logs in this directory")
    args = parser.parse_args()
    args.rates = ensure_rates(args.rates) if args.rates else (QUICK_RATES if args.quick else RATES)
    fill_ladder_defaults(args)
    configure_logging(TelemetrySettings(log_level="WARNING"), "bench", sys.stderr)
    asyncio.run(with_logs(args.logs, lambda logs: run(args, logs)))


if __name__ == "__main__":
    main()
