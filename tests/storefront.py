"""Helpers for storefront tests: a stocked shop, a running bot, and clicking through it."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devstack.nats import NatsServer
from devstack.postgres import EmbeddedPostgres
from devstack.processes import ManagedProcess
from tests.conftest import created_database, db_settings_for, reset_jetstream, service_base_env
from tests.fakes.telegram_api import TOKEN, FakeTelegram, serving
from tests.services import nats_settings, service_env, start_service, wait_for_status
from vitrina_common.db.engine import create_engine, create_session_factory
from vitrina_common.db.models import Category, Product, ProductStatus
from vitrina_common.messaging.connection import connect_nats

SessionFactory = async_sessionmaker[AsyncSession]


@dataclass(frozen=True)
class Stocked:
    category_id: int
    product_ids: list[int]


@dataclass
class Shop:
    """A running shop: the fake Telegram, the database, what was stocked, the processes."""

    telegram: FakeTelegram
    sessions: SessionFactory
    stock: Stocked
    bot: ManagedProcess
    worker: ManagedProcess | None = None
    nats_url: str = ""
    # What the bot and worker were started with: a restart starts from it again.
    env: dict[str, str] = field(default_factory=dict)
    # Where the processes write their logs (``bot.log``, ``worker.log``).
    logs: Path | None = None

    def handler_errors(self) -> list[str]:
        """The bot's log lines of an update whose handling raised (a handler let an
        exception out), in polling or webhook mode."""
        if self.logs is None:
            return []
        lines = (self.logs / "bot.log").read_text(errors="replace").splitlines()
        return [line for line in lines if _UPDATE_FAILED.search(line)]


_UPDATE_FAILED = re.compile(r'"event": "(webhook )?update failed"')


@dataclass(frozen=True)
class FreshShop:
    """What a shop's processes need, before any starts: its database (and sessions on it),
    a fake Bot API serving, the session's NATS (reset), and their environment."""

    sessions: SessionFactory
    telegram: FakeTelegram
    env: dict[str, str]
    nats_url: str


@contextlib.asynccontextmanager
async def fresh_shop(
    postgres: EmbeddedPostgres,
    template: str,
    nats_server: NatsServer,
    *,
    admin_ids: list[int],
    extra_env: dict[str, str] | None = None,
) -> AsyncIterator[FreshShop]:
    """A fresh database, a JetStream reset for this shop and a fake Bot API; the
    environment of a bot or worker process on them (``extra_env`` on top)."""
    async with created_database(postgres, template) as dsn, serving() as telegram:
        engine = create_engine(db_settings_for(dsn))
        client = await connect_nats(nats_settings(nats_server.url), name="shop-setup")
        await reset_jetstream(client)
        await client.close()
        env = service_env(
            service_base_env(), database_dsn=dsn, nats_url=nats_server.url,
            telegram_url=telegram.url, token=TOKEN,
        )  # fmt: skip
        env["APP_CONF__BOT__ADMIN_IDS"] = str(admin_ids)
        env.update(extra_env or {})
        try:
            yield FreshShop(create_session_factory(engine), telegram, env, nats_server.url)
        finally:
            await engine.dispose()


@contextlib.asynccontextmanager
async def running_shop(
    postgres: EmbeddedPostgres,
    template: str,
    nats_server: NatsServer,
    logs: Path,
    *,
    admin_ids: list[int],
    stock: Callable[[SessionFactory], Awaitable[Stocked]],
    with_worker: bool = False,
    extra_env: dict[str, str] | None = None,
) -> AsyncIterator[Shop]:
    """A fresh shop stocked by ``stock``, the bot polling its fake Bot API (and the worker
    if asked); everything stopped on exit."""
    async with fresh_shop(
        postgres, template, nats_server, admin_ids=admin_ids, extra_env=extra_env
    ) as fresh:
        stocked = await stock(fresh.sessions)
        bot, health = await start_service("bot", fresh.env, logs)
        worker: ManagedProcess | None = None
        try:
            await wait_for_status(health, "/readyz", 200, bot)
            if with_worker:
                worker, worker_health = await start_service("worker", fresh.env, logs)
                await wait_for_status(worker_health, "/readyz", 200, worker)
            shop = Shop(
                fresh.telegram, fresh.sessions, stocked, bot, worker, fresh.nats_url, fresh.env,
                logs,
            )  # fmt: skip
            yield shop
        finally:
            if worker is not None:
                await worker.stop(20)
            await bot.stop(20)
        # Whatever the module's tests sent, forged or odd, no update may have crashed its
        # handler: bad input gets a clear answer, never an exception.
        assert shop.handler_errors() == [], "an update's handling raised: see bot.log"


async def stock_shop(
    sessions: SessionFactory, category: str, titles: list[str], price: int = 50
) -> Stocked:
    """Ready products with previews already on Telegram (as after the pipeline ran)."""
    async with sessions() as session, session.begin():
        row = Category(title=category)
        session.add(row)
        await session.flush()
        products = []
        for title in titles:
            sha = hashlib.sha256(f"{category}/{title}".encode()).hexdigest()
            product = Product(
                category_id=row.id,
                title=title,
                description=f"About {title}",
                price_stars=price,
                status=ProductStatus.READY,
                original_key=sha,
                original_sha256=sha,
                original_size=1000,
                original_mime="image/jpeg",
                original_file_id=f"original-{sha[:8]}",
                preview_key=f"preview-{sha[:8]}",
                preview_file_id=f"preview-{sha[:8]}",
            )
            session.add(product)
            products.append(product)
        await session.flush()
        return Stocked(row.id, [product.id for product in products])


def text_of(message: dict[str, Any]) -> str:
    """What the user reads: the text, or the caption of a media message."""
    return str(message.get("text") or message.get("caption") or "")


async def screen(
    telegram: FakeTelegram, chat_id: int, contains: str, timeout_s: float = 15
) -> dict[str, Any]:
    """Wait until the chat's newest message with buttons reads ``contains``; return it."""
    async with asyncio.timeout(timeout_s):
        while True:
            try:
                message = telegram.last_message_to(chat_id)
            except LookupError:
                message = {}
            if contains in text_of(message):
                return message
            await asyncio.sleep(0.05)


async def told(telegram: FakeTelegram, chat_id: int, phrase: str, timeout_s: float = 15) -> str:
    """Wait until the bot sent ``chat_id`` a message reading ``phrase``; return its text."""
    async with asyncio.timeout(timeout_s):
        while True:
            for call in telegram.calls_of("sendMessage"):
                text = str(call.params.get("text"))
                if call.params.get("chat_id") == chat_id and phrase in text:
                    return text
            await asyncio.sleep(0.05)


async def click(
    telegram: FakeTelegram, chat_id: int, message: dict[str, Any], label: str, expect: str
) -> dict[str, Any]:
    """Press the button labelled ``label`` and wait for a screen reading ``expect``."""
    telegram.push_callback(chat_id, _as_sent(message), telegram.button(message, label))
    return await screen(telegram, chat_id, expect)


def _as_sent(message: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in message.items() if key != "_seq"}


def press(telegram: FakeTelegram, chat_id: int, message: dict[str, Any], data: str) -> int:
    """Press a button by raw callback data (forged callbacks use this)."""
    return telegram.push_callback(chat_id, _as_sent(message), data)
