"""What one update costs our bot: database round trips, NATS KV operations, Bot API calls and
CPU time, per catalog screen.

The bot runs in this process, built by the production wiring (``build_dependencies`` and
``build_update_dispatch``, as ``run_bot`` builds it for the mode), against a real Postgres
and NATS, and a fake Bot API served from its own thread. Updates are fed one at
a time, as the polling loop or the webhook route feeds them, so the counters' change over one
update is that update's cost. The counters sit below everything the bot does:

* database: each asyncpg protocol request (prepare, bind/execute, a simple query such as
  BEGIN or COMMIT) is one round trip to Postgres;
* KV: each call on the FSM bucket's and the chat-lock bucket's ``KeyValue``;
* Bot API: the fake's recorded calls;
* CPU: ``time.thread_time`` of the thread running the bot (the fake API has its own thread).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot
from aiogram.types import Update
from aiohttp import web
from nats.js.kv import KeyValue
from pydantic import SecretStr
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from devstack.ports import LOOPBACK, free_port
from tests.fakes.telegram_api import TOKEN, FakeTelegram
from vitrina_bot.app import build_inbox
from vitrina_bot.heap import freeze_startup_heap
from vitrina_bot.telegram import create_bot
from vitrina_bot.updates.intake import UpdateFeeder, as_incoming
from vitrina_bot.wiring import build_dependencies, build_update_dispatch
from vitrina_common.config import BotMode, BotSettings, DbSettings, NatsSettings, Settings
from vitrina_common.runtime import ServiceRuntime

# asyncpg protocol requests that each wait for Postgres's answer.
_ROUND_TRIPS = frozenset(
    {"prepare", "bind_execute", "bind_execute_many", "bind", "execute", "query",
     "close_statement", "copy_in", "copy_out"}
)  # fmt: skip
# KeyValue calls that each are one request to NATS (``create`` is ``update`` at revision 0).
_KV_OPERATIONS = frozenset({"get", "put", "create", "update", "delete", "purge"})


@dataclass
class Counters:
    """Running totals; ``Costs`` are differences of two snapshots."""

    db: int = 0
    kv: int = 0


@dataclass(frozen=True)
class Costs:
    """What one update cost."""

    db: int
    kv: int
    bot_api: int
    cpu_ms: float


class _Counting:
    """Delegates to ``inner``; each call of a method in ``counted`` adds one to ``tally``."""

    def __init__(self, inner: Any, counted: frozenset[str], tally: Callable[[], None]) -> None:
        self._inner = inner
        self._counted = counted
        self._tally = tally

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._inner, name)
        if name not in self._counted:
            return found

        def counted(*args: Any, **kwargs: Any) -> Any:
            self._tally()
            return found(*args, **kwargs)

        return counted


def count_round_trips(runtime: ServiceRuntime, counters: Counters) -> None:
    """Count every Postgres round trip of connections ``runtime``'s pool opens from now."""
    count_engine_round_trips(runtime.engine, counters)


def count_engine_round_trips(engine: AsyncEngine, counters: Counters) -> None:
    """Count every Postgres round trip of connections ``engine``'s pool opens from now."""

    def tally() -> None:
        counters.db += 1

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        driver = dbapi_connection._connection  # the asyncpg connection under the adapter
        driver._protocol = _Counting(driver._protocol, _ROUND_TRIPS, tally)

    event.listen(engine.sync_engine, "connect", on_connect)


def count_kv(kv: KeyValue, counters: Counters) -> KeyValue:
    """``kv``, counting its operations."""

    def tally() -> None:
        counters.kv += 1

    counting: KeyValue = _Counting(kv, _KV_OPERATIONS, tally)  # type: ignore[assignment]
    return counting


@contextlib.contextmanager
def fake_api_in_a_thread() -> Iterator[FakeTelegram]:
    """A fake Bot API on its own event loop and thread: its CPU is not the bot's."""
    telegram = FakeTelegram()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    runner = web.AppRunner(telegram.app(), access_log=None)
    port = free_port()

    async def start() -> None:
        await runner.setup()
        await web.TCPSite(runner, LOOPBACK, port).start()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, name="fake-bot-api", daemon=True)
    thread.start()
    ready.wait(10)
    telegram.url = f"http://{LOOPBACK}:{port}"
    try:
        yield telegram
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@dataclass
class InProcessBot:
    """Our bot's dispatcher in this process, and the counters under it."""

    bot: Bot
    feeder: UpdateFeeder
    telegram: FakeTelegram
    mode: BotMode
    counters: Counters = field(default_factory=Counters)
    _update_ids: Iterator[int] = field(default_factory=lambda: iter(range(1, 10**9)))

    def next_update_id(self) -> int:
        """A fresh update id (the webhook intake deduplicates by it)."""
        return next(self._update_ids)

    async def feed(self, update: dict[str, Any]) -> Costs:
        """Process one update as the mode's intake does; what it cost."""
        db, kv, calls = self.counters.db, self.counters.kv, len(self.telegram.calls)
        started = time.thread_time()
        parsed = Update.model_validate(update, context={"bot": self.bot})
        if self.mode is BotMode.WEBHOOK:  # the webhook route records it first (dedup)
            await self.feeder.inbox.admit([as_incoming(parsed, keep_payload=False)])
        await self.feeder.feed(parsed)
        return Costs(
            db=self.counters.db - db,
            kv=self.counters.kv - kv,
            bot_api=len(self.telegram.calls) - calls,
            cpu_ms=(time.thread_time() - started) * 1000,
        )


def bot_settings(dsn: str, nats: NatsSettings, api_url: str, mode: BotMode) -> Settings:
    """The settings ``run_bot`` would read for ``mode`` (throttling out of the way)."""
    webhook = mode is BotMode.WEBHOOK
    return Settings(
        db=DbSettings(dsn=dsn),
        nats=nats,
        bot=BotSettings(
            token=TOKEN,
            api_url=api_url,
            health_port=free_port(),
            mode=mode,
            webhook_url="https://shop.invalid/telegram/webhook" if webhook else None,
            webhook_secret=SecretStr("costs") if webhook else None,
            throttle_rate=1000,
            throttle_burst=1000,
        ),
    )


@contextlib.asynccontextmanager
async def in_process_bot(
    dsn: str, nats: NatsSettings, telegram: FakeTelegram, mode: BotMode = BotMode.POLLING
) -> AsyncIterator[InProcessBot]:
    """Our bot wired as ``run_bot`` wires it for ``mode`` (connected to NATS with ``nats``),
    its costs counted.

    Once per process: the bot's routers are module-level and attach to one dispatcher only
    (``python -m bench.bot_costs`` runs each mode in a process of its own).
    """
    settings = bot_settings(dsn, nats, telegram.url, mode)
    runtime = ServiceRuntime(settings, "bot", settings.bot.health_port)
    counters = Counters()
    count_round_trips(runtime, counters)
    bot = create_bot(settings.bot)
    try:
        await runtime.start()
        dependencies = build_dependencies(runtime, bot)
        # run_bot's own builder; then its storage and locks count their KV operations.
        update_dispatch = await build_update_dispatch(
            settings, runtime.nats.jetstream(), dependencies
        )
        update_dispatch.storage.kv = count_kv(update_dispatch.storage.kv, counters)
        if update_dispatch.chat_locks is not None:
            locks = update_dispatch.chat_locks
            locks._kv = count_kv(locks._kv, counters)
        feeder = UpdateFeeder(bot, update_dispatch.dispatcher, build_inbox(runtime))
        freeze_startup_heap()  # as run_bot does
        yield InProcessBot(bot, feeder, telegram, mode, counters)
    finally:
        await bot.session.close()
        await runtime.close()


# --- a shopper walking the catalog's screens ---------------------------------------------


def _sender(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": f"User{user_id}", "language_code": "en"}


def _text(message: dict[str, Any]) -> str:
    return str(message.get("text") or message.get("caption") or "")


@dataclass
class CostWalker:
    """One shopper tapping through the screens; each step returns the update's cost."""

    shop: InProcessBot
    user_id: int

    def _screen(self, expect: str) -> dict[str, Any]:
        message = self.shop.telegram.last_message_to(self.user_id)
        if expect not in _text(message):
            raise AssertionError(f"expected a screen with {expect!r}, got {_text(message)[:80]!r}")
        return {key: value for key, value in message.items() if key != "_seq"}

    async def send(self, text: str, expect: str) -> Costs:
        """A text message from the shopper; the screen it leads to must read ``expect``."""
        number = self.shop.next_update_id()
        message: dict[str, Any] = {
            "message_id": 10**6 + number,
            "date": int(time.time()),
            "chat": {"id": self.user_id, "type": "private"},
            "from": _sender(self.user_id),
            "text": text,
        }
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text)}]
        costs = await self.shop.feed({"update_id": number, "message": message})
        self._screen(expect)
        return costs

    async def press(self, label: str, expect: str) -> Costs:
        """Press the button reading ``label`` on the current screen."""
        screen = self._screen("")
        number = self.shop.next_update_id()
        query = {
            "id": f"costs-{number}",
            "from": _sender(self.user_id),
            "chat_instance": str(self.user_id),
            "message": screen,
            "data": FakeTelegram.button(screen, label),
        }
        costs = await self.shop.feed({"update_id": number, "callback_query": query})
        self._screen(expect)
        return costs


@dataclass(frozen=True)
class Screen:
    """A step of the walk: its name and how to get there from the previous step."""

    name: str
    step: Callable[[CostWalker], Any]


# From /start through every catalog screen and back; "Image 1" is a product title prefix.
CATALOG_WALK = (
    Screen("main menu (/start)", lambda w: w.send("/start", "Welcome to")),
    Screen("categories", lambda w: w.press("Catalog", "Choose a category")),
    Screen("category page", lambda w: w.press("Category 1 ·", "page 1 of")),
    Screen("next page", lambda w: w.press("▶️", "page 2 of")),
    Screen("product card", lambda w: w.press("⭐", "Price: ")),
    Screen("back to the page", lambda w: w.press("Back", "page 2 of")),
    Screen("back to categories", lambda w: w.press("Back", "Choose a category")),
    Screen("back to the menu", lambda w: w.press("Back", "Welcome to")),
    Screen("search prompt", lambda w: w.press("Search", "What are you looking for")),
    Screen("search results", lambda w: w.send("Image 1", "page 1 of")),
    Screen("back to the menu", lambda w: w.press("Back", "Welcome to")),
    Screen("my purchases", lambda w: w.press("My purchases", "You own")),
    Screen("back to the menu", lambda w: w.press("Back", "Welcome to")),
)


async def walk(shop: InProcessBot, user_id: int) -> list[tuple[str, Costs]]:
    """Every step of ``CATALOG_WALK`` once; each step's cost."""
    walker = CostWalker(shop, user_id)
    return [(screen.name, await screen.step(walker)) for screen in CATALOG_WALK]
