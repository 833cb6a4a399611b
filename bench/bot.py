"""``python -m bench.bot``: what our bot costs per update, and how much load it takes.

By default: the per-update cost table (``bench.bot_costs``: DB round trips, NATS KV
operations, Bot API calls and CPU ms per catalog screen, polling and webhook), then the open
loop (``bench.bot_open_loop``: Poisson arrivals stepping up, our bot and an aiogram-dialog
peer on our NATS KV storage in turn; sustainable rates and their ratio). ``--quick`` is a
smoke run; ``--costs-only`` stops after the table.

``--closed-loop``: simulated shoppers browse a 10 000-product catalog through our bot
process, and the same shoppers talk to a bare aiogram echo bot, side by side in one run.

One harness for both bots: a fake Bot API server over HTTP (``tests.fakes.telegram_api``)
that the bot long-polls, and N shoppers in a closed loop: push one update, wait until the
fake API receives the bot's answering call for it, record the latency, push the next. The
bots run one after the other (this is a 2-core machine), each with a warm-up before the
measured window, then with one shopper alone (the latency without queueing). Everything is
local: embedded Postgres, ``nats-server -js``, 127.0.0.1. CPU per process over each window is
printed too, so a saturated bot (or a busy machine) shows.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import functools
import itertools
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import psutil
from aiohttp import web

from bench.machine import load_average
from bench.servers import BenchServers, bench_servers
from devstack.nats import NatsServer
from devstack.ports import LOOPBACK, free_port
from devstack.processes import ManagedProcess, spawn
from tests.fakes.telegram_api import TOKEN, FakeTelegram
from tests.services import (
    nats_settings,
    service_env,
    start_service,
    wait_for_status,
)
from vitrina_common.config import BotMode, TelemetrySettings
from vitrina_common.logging import configure_logging
from vitrina_common.messaging.connection import connect_nats
from vitrina_common.messaging.provisioning import provision_jetstream

ROOT = Path(__file__).resolve().parents[1]
FIRST_USER = 7_000_001
ACTION_TIMEOUT_S = 5.0
GOAL_RATIO = 0.5
GOAL_P99_MS = 50.0
# Calls that put a screen in front of the shopper; only those with buttons count as the answer
# (aiogram-dialog may first strip the old keyboard or delete the old message).
SCREEN_METHODS = frozenset(
    {"sendMessage", "editMessageText", "editMessageMedia", "editMessageCaption", "sendPhoto"}
)
# Per cycle: /start, then Catalog, a category, ▶️ ×3, a product, Back, ▶️, a product, Back,
# Back, Back. The echo shoppers send the same mix: 1 text message, then 12 callback queries.
CALLBACKS_PER_CYCLE = 12
# Our bot throttles each user to 3 updates/s (burst 10); a closed-loop shopper sends far more.
THROTTLE_ENV = {"APP_CONF__BOT__THROTTLE_RATE": "1000", "APP_CONF__BOT__THROTTLE_BURST": "1000"}

CPU_COLUMNS = ("bot", "harness", "postgres", "nats", "other")

Accepts = Callable[[str, dict[str, Any]], bool]


# --- the harness: the fake Bot API, timing the answering call of each update ---------------


@dataclass(frozen=True)
class Reaction:
    """The bot's answering call: when the fake API received it and what it answered."""

    at: float
    method: str
    message: dict[str, Any]


@dataclass
class _Waiter:
    accepts: Accepts
    future: asyncio.Future[Reaction]


def _reaction_key(method: str, params: dict[str, Any]) -> str | None:
    if method == "answerCallbackQuery":
        return f"cb:{params.get('callback_query_id')}"
    chat_id = params.get("chat_id")
    return f"chat:{chat_id}" if chat_id is not None else None


@dataclass
class TimedTelegram(FakeTelegram):
    """``FakeTelegram`` that resolves a waiter when the call a shopper waits for arrives."""

    polled: asyncio.Event = field(default_factory=asyncio.Event)
    _waiters: dict[str, _Waiter] = field(default_factory=dict)
    _query_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def expect(self, key: str, accepts: Accepts) -> asyncio.Future[Reaction]:
        """A future for the next call under ``key`` (``chat:<id>``, ``cb:<query id>``)."""
        future: asyncio.Future[Reaction] = asyncio.get_running_loop().create_future()
        self._waiters[key] = _Waiter(accepts, future)
        return future

    def forget(self, key: str) -> None:
        """Stop waiting under ``key``."""
        self._waiters.pop(key, None)

    def new_query_id(self) -> str:
        """A callback query id, known before the press is pushed."""
        return f"bench-{next(self._query_ids)}"

    def press_with_id(self, user_id: int, message: dict[str, Any], data: str, query_id: str) -> int:
        """``push_callback`` with a chosen query id (its answer is matched by that id)."""
        sent = {key: value for key, value in message.items() if key != "_seq"}
        query = {
            "id": query_id,
            "from": self._user(user_id),
            "chat_instance": str(user_id),
            "message": sent,
            "data": data,
        }
        return self.push_update({"callback_query": query})

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        at = time.perf_counter()
        result = super()._result(method, params)
        key = _reaction_key(method, params)
        waiter = self._waiters.get(key) if key is not None else None
        if key is not None and waiter is not None and waiter.accepts(method, params):
            del self._waiters[key]
            if not waiter.future.done():
                message = result if isinstance(result, dict) else {}
                waiter.future.set_result(Reaction(at, method, message))
        return result

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        self.polled.set()
        return await super()._get_updates(params)


async def serve(telegram: FakeTelegram) -> web.AppRunner:
    """Serve the fake API on a free loopback port; sets ``telegram.url``."""
    runner = web.AppRunner(telegram.app(), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, LOOPBACK, port).start()
    telegram.url = f"http://{LOOPBACK}:{port}"
    return runner


# --- shoppers ----------------------------------------------------------------------------


@dataclass
class Tally:
    """Completed updates (pushed, answered) and failures (when, why) of one bot's run."""

    samples: list[tuple[float, float]] = field(default_factory=list)
    failures: list[tuple[float, str]] = field(default_factory=list)


class Lost(Exception):  # noqa: N818  (a shopper's path, not an error of the harness)
    """The bot did not answer in time, or answered with another screen than expected."""


class Stopped(Exception):  # noqa: N818
    """The measured window is over."""


def text_of(message: dict[str, Any]) -> str:
    """What the shopper reads: the text, or the caption of a media message."""
    return str(message.get("text") or message.get("caption") or "")


class Shopper:
    """One user in a closed loop: push an update, wait for its answering call, repeat."""

    def __init__(
        self, telegram: TimedTelegram, user_id: int, tally: Tally, stop: asyncio.Event
    ) -> None:
        self.telegram = telegram
        self.user_id = user_id
        self.tally = tally
        self.stop = stop
        self.rng = random.Random(user_id)  # noqa: S311  (shopper paths, not secrets)

    async def act(self, key: str, accepts: Accepts, push: Callable[[], object]) -> Reaction:
        """Push one update and wait for the call ``accepts`` names under ``key``."""
        if self.stop.is_set():
            raise Stopped
        future = self.telegram.expect(key, accepts)
        pushed = time.perf_counter()
        push()
        try:
            reaction = await asyncio.wait_for(future, ACTION_TIMEOUT_S)
        except TimeoutError:
            self.telegram.forget(key)
            raise Lost(f"no answer within {ACTION_TIMEOUT_S:.0f} s") from None
        self.tally.samples.append((pushed, reaction.at))
        return reaction

    async def cycle(self) -> None:
        """One round of updates."""
        raise NotImplementedError

    async def run(self) -> None:
        """Cycle until stopped; a lost cycle is tallied and the next starts afresh."""
        with contextlib.suppress(Stopped):
            while True:
                try:
                    await self.cycle()
                except Lost as lost:
                    self.tally.failures.append((time.perf_counter(), str(lost)))
                    await asyncio.sleep(0.2)  # let a late answer land before /start again


def _shows_buttons(method: str, params: dict[str, Any]) -> bool:
    return method in SCREEN_METHODS and bool(params.get("reply_markup"))


class CatalogShopper(Shopper):
    """Browses our bot: menu → catalog → a category → pages → a product → back, and so on."""

    def __init__(self, *args: Any, categories: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.categories = categories

    async def _screen(self, push: Callable[[], object], expect: str) -> dict[str, Any]:
        reaction = await self.act(f"chat:{self.user_id}", _shows_buttons, push)
        if expect not in text_of(reaction.message):
            seen = text_of(reaction.message)[:60].replace("\n", " ")
            raise Lost(f"expected {expect!r}, got {reaction.method} {seen!r}")
        return reaction.message

    async def send(self, text: str, expect: str) -> dict[str, Any]:
        """Send a text message and wait for the screen reading ``expect``."""
        return await self._screen(lambda: self.telegram.push_message(self.user_id, text), expect)

    async def click(self, screen: dict[str, Any], data: str, expect: str) -> dict[str, Any]:
        """Press the button with callback ``data`` and wait for the screen reading ``expect``."""
        query_id = self.telegram.new_query_id()
        return await self._screen(
            lambda: self.telegram.press_with_id(self.user_id, screen, data, query_id), expect
        )

    async def press(self, screen: dict[str, Any], label: str, expect: str) -> dict[str, Any]:
        """Press the button labelled ``label`` and wait for the screen reading ``expect``."""
        return await self.click(screen, FakeTelegram.button(screen, label), expect)

    async def open_some_product(self, page: dict[str, Any]) -> dict[str, Any]:
        """Open a random product of the page: the card with its price."""
        products = [
            str(button["callback_data"])
            for row in page["reply_markup"]["inline_keyboard"]
            for button in row
            if button["text"].endswith("⭐")
        ]
        return await self.click(page, self.rng.choice(products), "Price: ")

    async def cycle(self) -> None:
        """1 message and 12 callbacks."""
        menu = await self.send("/start", "Welcome to")
        categories = await self.press(menu, "Catalog", "Choose a category")
        category = f"Category {self.rng.randint(1, self.categories)} ·"
        page = await self.press(categories, category, "page 1 of")
        for number in (2, 3, 4):
            page = await self.press(page, "▶️", f"page {number} of")
        card = await self.open_some_product(page)
        page = await self.press(card, "Back", "page 4 of")
        page = await self.press(page, "▶️", "page 5 of")
        card = await self.open_some_product(page)
        page = await self.press(card, "Back", "page 5 of")
        categories = await self.press(page, "Back", "Choose a category")
        await self.press(categories, "Back", "Welcome to")


class EchoShopper(Shopper):
    """Talks to an echo bot in the same mix: a text message, then 12 button presses."""

    def __init__(self, *args: Any, edits: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent = itertools.count(1)
        self.edits = edits

    async def cycle(self) -> None:
        """1 message (answered by its echo) and 12 callbacks, each answered by
        answerCallbackQuery, or with ``edits`` by the edit of the message it was pressed on."""
        text = f"hello {next(self.sent)}"

        def echoed(method: str, params: dict[str, Any]) -> bool:
            if self.edits:  # a screen with buttons (the dialog peer does not repeat the text)
                return method == "sendMessage" and _shows_buttons(method, params)
            return method == "sendMessage" and params.get("text") == text

        reaction = await self.act(
            f"chat:{self.user_id}", echoed, lambda: self.telegram.push_message(self.user_id, text)
        )
        for _ in range(CALLBACKS_PER_CYCLE):
            query_id = self.telegram.new_query_id()
            data = first_button(reaction.message) if self.edits else "echo"
            press = functools.partial(
                self.telegram.press_with_id, self.user_id, reaction.message, data, query_id
            )
            if self.edits:
                reaction = await self.act(f"chat:{self.user_id}", _shows_buttons, press)
            else:
                await self.act(f"cb:{query_id}", lambda _method, _params: True, press)


def first_button(message: dict[str, Any]) -> str:
    """The callback data of the message's first button."""
    return str(message["reply_markup"]["inline_keyboard"][0][0]["callback_data"])


# --- measuring ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    """One bot's numbers over the measured window."""

    name: str
    rate: float
    p50_ms: float
    p99_ms: float
    updates: int
    answered_total: int  # warm-up included
    failures: collections.Counter[str]
    cpu: dict[str, float]  # % of one core over the window, per process (tree)


def cpu_seconds(pid: int, tree: bool) -> float:
    """User + system CPU seconds of ``pid``; with ``tree``, also of its children, live or
    reaped (Postgres forks a backend per connection, and a pool's overflow ones come and go).
    """
    try:
        root = psutil.Process(pid)
        members = [root, *root.children(recursive=True)] if tree else [root]
        times = root.cpu_times()
    except psutil.NoSuchProcess:
        return 0.0
    total = times.children_user + times.children_system if tree else 0.0
    for member in members:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = member.cpu_times()
            total += times.user + times.system
    return total


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent on anything but idling, system-wide."""
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


def _cpu_snapshot(processes: dict[str, int]) -> dict[str, float]:
    snapshot = {name: cpu_seconds(pid, tree=True) for name, pid in processes.items()}
    snapshot["harness"] = cpu_seconds(os.getpid(), tree=False)
    snapshot["machine"] = machine_busy_seconds()
    return snapshot


async def measure(
    name: str,
    make_shopper: Callable[[int, Tally, asyncio.Event], Shopper],
    users: int,
    warmup_s: float,
    duration_s: float,
    processes: dict[str, int],
) -> Result:
    """Run ``users`` shoppers for the warm-up plus the window; numbers of the window only."""
    tally, stop = Tally(), asyncio.Event()
    shoppers = [make_shopper(FIRST_USER + index, tally, stop) for index in range(users)]
    tasks = [asyncio.create_task(shopper.run()) for shopper in shoppers]
    await asyncio.sleep(warmup_s)
    cpu_before, begin = _cpu_snapshot(processes), time.perf_counter()
    await asyncio.sleep(duration_s)
    cpu_after, end = _cpu_snapshot(processes), time.perf_counter()
    stop.set()
    _, pending = await asyncio.wait(tasks, timeout=ACTION_TIMEOUT_S + 2)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    elapsed = end - begin
    latencies = [
        (answered - pushed) * 1000 for pushed, answered in tally.samples if begin <= answered < end
    ]
    cuts = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else []
    failures = collections.Counter(why for at, why in tally.failures if begin <= at < end)
    cpu = {key: 100 * (cpu_after[key] - cpu_before[key]) / elapsed for key in cpu_after}
    # Whatever else ran on the machine (sampling skew can dip it a little below zero).
    cpu["other"] = max(0.0, cpu.pop("machine") - sum(cpu.values()))
    return Result(
        name=name,
        rate=len(latencies) / elapsed,
        p50_ms=cuts[49] if cuts else float("nan"),
        p99_ms=cuts[98] if cuts else float("nan"),
        updates=len(latencies),
        answered_total=len(tally.samples),
        failures=failures,
        cpu=cpu,
    )


# --- the two bots ------------------------------------------------------------------------


@dataclass(frozen=True)
class Setup:
    """What both runs share."""

    users: int
    warmup_s: float
    duration_s: float
    solo_s: float  # then one shopper alone for this long: latency without queueing
    categories: int
    logs: Path


@dataclass
class Run:
    """One bot's results: loaded (``setup.users`` shoppers), then solo (one shopper)."""

    loaded: Result
    solo: Result | None
    calls_per_update: float
    notes: list[str] = field(default_factory=list)


async def run_phases(
    name: str,
    telegram: TimedTelegram,
    make_shopper: Callable[[int, Tally, asyncio.Event], Shopper],
    setup: Setup,
    processes: dict[str, int],
) -> Run:
    """The loaded window, then the solo one, on the same bot process."""
    calls_before = len(telegram.calls)
    loaded = await measure(
        name, make_shopper, setup.users, setup.warmup_s, setup.duration_s, processes
    )
    solo = None
    if setup.solo_s > 0:
        solo = await measure(f"{name}, 1 alone", make_shopper, 1, 2.0, setup.solo_s, processes)
    # Over both phases, warm-ups included: how chatty the bot is per update.
    answered = loaded.answered_total + (solo.answered_total if solo else 0)
    calls = len(telegram.calls) - calls_before
    return Run(loaded, solo, calls / answered if answered else float("nan"))


def base_env() -> dict[str, str]:
    """Our environment without any APP_CONF__ of the developer's (as the tests do)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("APP_CONF")}
    env["APP_CONF_SECRETS_DIR"] = "/nonexistent"
    return env


async def postgres_sessions(dsn: str) -> int:
    """Connections ever opened to the database of ``dsn`` (``pg_stat_database.sessions``)."""
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("SELECT pg_stat_clear_snapshot()")
        query = "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
        return int(await connection.fetchval(query))
    finally:
        await connection.close()


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


async def run_ours(setup: Setup, dsn: str, nats: NatsServer, infra: dict[str, int]) -> Run:
    """Our bot process (crash-safe polling, aiogram-dialog state in NATS KV, Postgres)."""
    async with our_bot(dsn, nats, setup.logs) as (telegram, bot_pid):

        def shopper(user_id: int, tally: Tally, stop: asyncio.Event) -> Shopper:
            return CatalogShopper(telegram, user_id, tally, stop, categories=setup.categories)

        sessions = await postgres_sessions(dsn)
        run = await run_phases("vitrina", telegram, shopper, setup, {"bot": bot_pid, **infra})
        opened = await postgres_sessions(dsn) - sessions - 1  # minus our own count query
        run.notes.append(f"{opened} Postgres connections opened by the bot (both phases)")
        return run


PEERS = {
    "echo": "",
    "echo + edit": "--edit",
    "aiogram-dialog echo": "--dialog",
}


async def run_echo(setup: Setup, name: str = "echo") -> Run:
    """A bare peer bot (``bench.bot_echo``, see ``PEERS``) on an identical fake API."""
    mode = PEERS[name]
    telegram = TimedTelegram()
    runner = await serve(telegram)
    env = {**base_env(), "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "bench.bot_echo", telegram.url, *([mode] if mode else [])]
    log_file = str(setup.logs / f"echo{mode.replace('--', '-')}.log")
    echo = await spawn(name, command, env=env, log_file=log_file)
    try:
        await wait_polling(telegram, echo)

        def shopper(user_id: int, tally: Tally, stop: asyncio.Event) -> Shopper:
            return EchoShopper(telegram, user_id, tally, stop, edits=bool(mode))

        return await run_phases(name, telegram, shopper, setup, {"bot": echo.pid})
    finally:
        await echo.stop(20)
        await runner.cleanup()


async def wait_polling(telegram: TimedTelegram, process: ManagedProcess) -> None:
    async with asyncio.timeout(30):
        while not telegram.polled.is_set():
            if not process.running:
                raise RuntimeError(f"{process.name} exited with {process.process.returncode}")
            await asyncio.sleep(0.05)


# --- the shop ----------------------------------------------------------------------------


async def migrate(dsn: str) -> None:
    """``alembic upgrade head`` on ``dsn``, as the launcher does."""
    env = {**base_env(), "APP_CONF__DB__DSN": dsn}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "alembic", "-c", str(ROOT / "alembic.ini"), "upgrade", "head",
        env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    if await process.wait() != 0:
        raise RuntimeError("migrations failed")


async def stock(dsn: str, products: int, categories: int) -> int:
    """``products`` ready products (previews already on Telegram) spread over ``categories``."""
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(
            "INSERT INTO categories (title, position) "
            "SELECT 'Category ' || c, c FROM generate_series(1, $1::int) AS c",
            categories,
        )
        await connection.execute(
            """
            INSERT INTO products (
                category_id, title, description, price_stars, status, original_key,
                original_sha256, original_size, original_mime, original_file_id,
                preview_key, preview_file_id
            )
            SELECT c.id, 'Image ' || g, 'About image ' || g || ', a view worth a look.',
                   10 + g % 90, 'ready', 'bench-' || g, md5(g::text) || md5('x' || g),
                   1000, 'image/jpeg', 'original-' || g, 'preview-' || g, 'preview-' || g
            FROM generate_series(0, $1::int - 1) AS g
            JOIN categories AS c ON c.position = 1 + g % $2::int
            ORDER BY g
            """,
            products,
            categories,
        )
        await connection.execute("ANALYZE")
        return int(await connection.fetchval("SELECT count(*) FROM products WHERE status='ready'"))
    finally:
        await connection.close()


async def provision(nats: NatsServer) -> None:
    """The streams and buckets the bot binds to (the FSM bucket among them)."""
    client = await connect_nats(nats_settings(nats.url), name="bench-bot")
    try:
        await provision_jetstream(client.jetstream())
    finally:
        await client.close()


# --- the report --------------------------------------------------------------------------


def print_result(result: Result) -> None:
    """One row of the table."""
    cpu = " / ".join(f"{result.cpu.get(key, 0):3.0f}" for key in CPU_COLUMNS)
    failed = sum(result.failures.values())
    print(
        f"{result.name:<28} {result.rate:9.1f} {result.p50_ms:8.1f} ms {result.p99_ms:8.1f} ms"
        f" {result.updates:8d} {failed:6d}    {cpu}"
    )


def print_report(setup: Setup, products: int, echo: Run, peers: tuple[Run, Run], ours: Run) -> None:
    """The table, the ratio and the goals."""
    print()
    print("An update is one Bot API update a shopper pushes, counted when the bot answers it:")
    print("  vitrina  /start or a button press (Catalog, a category, ▶️, a product, ⬅️ Back),")
    print("           answered by the send/edit call showing the next screen with its buttons")
    print("  echo     a text message answered by sendMessage with its text, or a button press")
    print("           answered by answerCallbackQuery")
    print("  echo + edit  the same, but the text comes back with 10 buttons and a press is")
    print("           answered and the message edited with them: the Telegram calls (and the")
    print("           Message parsed from the edit's response) of a screen change, no more")
    print("  aiogram-dialog echo  echo + edit as an aiogram-dialog window (memory storage, a")
    print("           Select of 10 items, a press counted and the window rendered again)")
    print(f"  all: 1 message to {CALLBACKS_PER_CYCLE} callbacks; latency = update queued for")
    print("  getUpdates → the fake Bot API receives that answering call; closed loop per user")
    print()
    print(
        f"{products} ready products in {setup.categories} categories; {setup.users} shoppers, "
        f"{setup.warmup_s:.0f} s warm-up + {setup.duration_s:.0f} s measured per bot, then 1 "
        f"shopper alone for {setup.solo_s:.0f} s; {os.cpu_count()} cores; our throttle set to "
        "1000/s, burst 1000 per user"
    )
    print()
    print(
        f"{'bot':<28} {'updates/s':>9} {'p50':>11} {'p99':>11} {'updates':>8} {'failed':>6}"
        "    CPU (% of one core): " + " / ".join(CPU_COLUMNS)
    )
    editing, dialog = peers
    runs = (echo, editing, dialog, ours)
    for run in runs:
        print_result(run.loaded)
    for run in runs:
        if run.solo is not None:
            print_result(run.solo)
    print()
    for run in runs:
        name = run.loaded.name
        print(f"{name}: {run.calls_per_update:.2f} Bot API calls per answered update")
        for note in run.notes:
            print(f"{name}: {note}")
        for result in [run.loaded] if run.solo is None else [run.loaded, run.solo]:
            for why, count in result.failures.most_common():
                print(f"{result.name} failed {count}×: {why}")
    loaded, peer = ours.loaded, echo.loaded
    ratio = loaded.rate / peer.rate if peer.rate else float("nan")
    print()
    ratio_met = "met" if ratio >= GOAL_RATIO else "NOT met"
    p99_met = "met" if loaded.p99_ms < GOAL_P99_MS else "NOT met"
    print(f"vitrina / echo   {ratio:5.2f}×      goal ≥ {GOAL_RATIO}×: {ratio_met}")
    # Context for the goal: what a bot that does nothing but a screen change's Telegram
    # calls reaches against the same echo, and where we stand against that bot.
    for other in (editing, dialog):
        if peer.rate and other.loaded.rate:
            print(
                f"{other.loaded.name} / echo {other.loaded.rate / peer.rate:5.2f}×   "
                f"vitrina / {other.loaded.name} {loaded.rate / other.loaded.rate:5.2f}×"
            )
    print(
        f"vitrina p99      {loaded.p99_ms:5.1f} ms   goal < {GOAL_P99_MS:.0f} ms: {p99_met} "
        f"(with {setup.users} shoppers)"
    )


async def run(setup: Setup, products: int) -> None:
    """Start Postgres and NATS, stock the shop, measure the echo bots, then ours."""
    async with stocked_shop("bench-bot", products, setup.categories) as (servers, dsn):
        print("measuring the echo bot…", flush=True)
        echo = await run_echo(setup)
        print("measuring the peers that edit: a bare one, an aiogram-dialog one…", flush=True)
        editing = await run_echo(setup, "echo + edit")
        dialog = await run_echo(setup, "aiogram-dialog echo")
        print("measuring our bot…", flush=True)
        infra = {"postgres": servers.pg_pid, "nats": servers.nats_pid}
        ours = await run_ours(setup, dsn, servers.nats, infra)
    print_report(setup, products, echo, (editing, dialog), ours)


@contextlib.asynccontextmanager
async def stocked_shop(
    name: str, products: int, categories: int
) -> AsyncIterator[tuple[BenchServers, str]]:
    """Servers, a migrated database with ``products`` ready products in ``categories`` and a
    provisioned JetStream; prints the machine and the shop. Yields the servers and the DSN."""
    async with bench_servers(name) as servers:
        database = name.replace("-", "_")
        await servers.pg.ensure_database(database)
        dsn = servers.pg.dsn(database)
        await migrate(dsn)
        stocked = await stock(dsn, products, categories)
        await provision(servers.nats)
        print(
            f"{time.strftime('%Y-%m-%d %H:%M')}; {os.cpu_count()} cores; {load_average()}; "
            f"{stocked} ready products "
            f"in {categories} categories",
            flush=True,
        )
        yield servers, dsn


def fill_ladder_defaults(args: argparse.Namespace) -> None:
    """The shop's size and the steps' lengths a ladder run was not given: small and short
    for ``--quick`` (a smoke run), the measured sizes otherwise."""
    if args.products is None:
        args.products = 1_000 if args.quick else 10_000
    if args.warmup is None:
        args.warmup = 1.0 if args.quick else 2.0
    if args.step is None:
        args.step = 3.0 if args.quick else 10.0


async def with_logs(logs: str | None, body: Callable[[Path], Awaitable[None]]) -> None:
    """Run ``body`` with the directory for the bots' logs: ``logs``, or a temporary one."""
    if logs is not None:
        Path(logs).mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240  (setup, instant)
        await body(Path(logs))
        return
    with tempfile.TemporaryDirectory(prefix="vitrina-bench-bot-logs-") as scratch:
        await body(Path(scratch))


async def run_open(args: argparse.Namespace, logs: Path) -> None:
    """The cost table, then the open loop: ours and the dialog peer on the same servers."""
    from bench.bot_costs import print_costs, screen_costs  # noqa: PLC0415  (they import us)
    from bench.bot_ladder import (  # noqa: PLC0415
        FULL_RATES,
        OURS,
        PEER,
        QUICK_RATES,
        OpenLoopSetup,
        ensure_rates,
        open_loop,
        verdicts,
    )

    rates = ensure_rates(args.rates) if args.rates else (QUICK_RATES if args.quick else FULL_RATES)
    async with stocked_shop("bench-bot", args.products, args.categories) as (servers, dsn):
        print()
        passwords = servers.nats.passwords
        print_costs(
            {mode: await screen_costs(dsn, servers.nats.url, mode, passwords) for mode in BotMode}
        )
        if args.costs_only:
            return
        print()
        print(
            f"Open loop: Poisson arrivals, {args.warmup:.0f} s warm-up + {args.step:.0f} s "
            "measured per step; the bots take each step in turn"
        )
        setup = OpenLoopSetup(rates, args.warmup, args.step, args.categories, logs)
        ladder = await open_loop(setup, dsn, servers.nats)
    print()
    for line in verdicts(ladder, OURS, PEER):
        print(line)
    print(f"at the end: {load_average()}")


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(prog="python -m bench.bot")
    parser.add_argument(
        "--closed-loop",
        action="store_true",
        help="instead: the closed-loop comparison with the echo peers (20 shoppers)",
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run: 2 short, slow steps")
    parser.add_argument("--costs-only", action="store_true", help="print the cost table only")
    parser.add_argument("--rates", help="open-loop rates to step through, e.g. 20,40,80")
    parser.add_argument("--step", type=float, help="measured seconds per open-loop step")
    parser.add_argument("--products", type=int, default=None)
    parser.add_argument("--categories", type=int, default=4)
    parser.add_argument("--users", type=int, default=20, help="closed loop: shoppers")
    parser.add_argument("--warmup", type=float, default=None, help="seconds before measuring")
    parser.add_argument(
        "--duration", type=float, default=20.0, help="closed loop: measured seconds per bot"
    )
    parser.add_argument(
        "--solo", type=float, default=5.0, help="closed loop: seconds of one shopper alone"
    )
    parser.add_argument("--logs", help="keep the bots' logs in this directory")
    args = parser.parse_args()
    if args.closed_loop and args.warmup is None:
        args.warmup = 5.0
    fill_ladder_defaults(args)
    # Provisioning and friends log at INFO: keep stdout for the report.
    configure_logging(TelemetrySettings(log_level="WARNING"), "bench", sys.stderr)

    async def body(logs: Path) -> None:
        if not args.closed_loop:
            await run_open(args, logs)
            return
        setup = Setup(args.users, args.warmup, args.duration, args.solo, args.categories, logs)
        await run(setup, args.products)

    asyncio.run(with_logs(args.logs, body))


if __name__ == "__main__":
    main()
