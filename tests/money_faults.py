"""The stack the money-fault tests break: a fresh database, the session's NATS, a fake Bot
API over HTTP, and the real bot process (polling or webhook) started, stopped and killed
at will; plus ways to put the shop and the inbox in the state a fault leaves them in."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devstack.nats import NatsServer
from devstack.ports import LOOPBACK, free_port
from devstack.postgres import EmbeddedPostgres
from devstack.processes import ManagedProcess
from tests.fakes.telegram_api import FakeTelegram
from tests.services import kill_process_group, start_service, wait_for_status
from tests.storefront import fresh_shop
from vitrina_common.db.models import Category, Product, ProductStatus, TelegramUpdate
from vitrina_common.services.checkout import Invoice, StartCheckout
from vitrina_common.services.users import RegisterUser

SessionFactory = async_sessionmaker[AsyncSession]
ADMIN = 900
WEBHOOK_SECRET = "money-faults-secret"
WEBHOOK_PATH = "/telegram/webhook"


@dataclass
class MoneyStack:
    """Everything one test needs; ``start_bot`` may be called again after a stop or kill."""

    telegram: FakeTelegram
    sessions: SessionFactory
    env: dict[str, str]
    logs: Path
    nats_url: str
    webhook_port: int | None = None
    bot: ManagedProcess | None = None
    runs: int = field(default=0)

    async def start_bot(self) -> None:
        """Start the bot and wait until it is ready (and, for a webhook, registered)."""
        self.runs += 1
        before = len(self.telegram.calls_of("setWebhook"))
        self.bot, port = await start_service("bot", self.env, self.logs / f"run{self.runs}")
        await wait_for_status(port, "/readyz", 200, self.bot)
        if self.webhook_port is not None:
            await self.telegram.wait_for_call("setWebhook", count=before + 1, timeout_s=20)

    async def stop_bot(self) -> int:
        """SIGTERM, as Kubernetes stops a pod; the exit code."""
        assert self.bot is not None
        code = await self.bot.stop(30)
        self.bot = None
        return code

    async def kill_bot(self) -> None:
        """SIGKILL, as an OOM kill or a lost node would."""
        assert self.bot is not None
        kill_process_group(self.bot)
        await self.bot.process.wait()
        self.bot = None

    def bot_log(self) -> str:
        """What every run of the bot logged so far."""
        return "".join(path.read_text() for path in sorted(self.logs.glob("run*/bot.log")))

    async def post(self, body: dict[str, Any]) -> tuple[int, str]:
        """POST an update to the webhook with the secret; the status and body."""
        assert self.webhook_port is not None
        url = f"http://{LOOPBACK}:{self.webhook_port}{WEBHOOK_PATH}"
        headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http,
            http.post(url, json=body, headers=headers) as response,
        ):
            return response.status, await response.text()


@contextlib.asynccontextmanager
async def money_stack(
    postgres: EmbeddedPostgres,
    template: str,
    nats_server: NatsServer,
    logs: Path,
    *,
    webhook: bool = False,
    extra_env: dict[str, str] | None = None,
) -> AsyncIterator[MoneyStack]:
    """A stack with the bot not started yet (so a test can set the scene first)."""
    webhook_port = free_port() if webhook else None
    env = dict(extra_env or {})
    if webhook_port is not None:
        env |= {
            "APP_CONF__BOT__MODE": "webhook",
            "APP_CONF__BOT__WEBHOOK_URL": f"https://shop.test{WEBHOOK_PATH}",
            "APP_CONF__BOT__WEBHOOK_SECRET": WEBHOOK_SECRET,
            "APP_CONF__BOT__WEBHOOK_PORT": str(webhook_port),
        }
    async with fresh_shop(
        postgres, template, nats_server, admin_ids=[ADMIN], extra_env=env
    ) as fresh:
        stack = MoneyStack(
            fresh.telegram, fresh.sessions, fresh.env, logs, fresh.nats_url, webhook_port
        )
        try:
            yield stack
        finally:
            if stack.bot is not None:
                await stack.bot.stop(30)


async def product(
    sessions: SessionFactory,
    title: str,
    *,
    price: int = 50,
    edition_size: int | None = None,
    original_file_id: str | None = None,
    original_key: str | None = None,
) -> int:
    """A ready product whose preview is on Telegram already; its original by ``file_id``
    (default: one Telegram knows) or, when ``original_key`` is given, by Object Store key."""
    sha = hashlib.sha256(title.encode()).hexdigest()
    async with sessions() as session, session.begin():
        category = await session.scalar(select(Category).where(Category.title == "Prints"))
        if category is None:
            category = Category(title="Prints")
            session.add(category)
            await session.flush()
        row = Product(
            category_id=category.id,
            title=title,
            description=f"About {title}",
            price_stars=price,
            edition_size=edition_size,
            status=ProductStatus.READY,
            original_key=original_key or sha,
            original_sha256=sha,
            original_size=1000,
            original_mime="image/jpeg",
            original_file_id=original_file_id or (None if original_key else f"original-{sha[:8]}"),
            preview_key=f"preview-{sha[:8]}",
            preview_file_id=f"preview-{sha[:8]}",
        )
        session.add(row)
        await session.flush()
        return row.id


async def invoice(sessions: SessionFactory, shopper: int, product_id: int) -> Invoice:
    """The shopper sent /start and pressed Buy: the invoice (its pending order)."""
    await RegisterUser(sessions)(shopper, None, f"Shopper{shopper}", "en")
    issued = await StartCheckout(sessions)(shopper, product_id)
    assert isinstance(issued, Invoice), issued
    return issued


async def put_in_inbox(
    sessions: SessionFactory,
    money_update: dict[str, Any],
    *,
    received_ago_s: float = 0.0,
    attempts: int = 0,
    next_attempt_in_s: float = 0.0,
) -> None:
    """A money update as the inbox holds it after a crash: admitted, never closed."""
    async with sessions() as session, session.begin():
        session.add(
            TelegramUpdate(
                update_id=money_update["update_id"],
                kind=_kind(money_update),
                payload=money_update,
                attempts=attempts,
            )
        )
        await session.flush()
        await session.execute(
            update(TelegramUpdate)
            .where(TelegramUpdate.update_id == money_update["update_id"])
            .values(
                received_at=func.now() - timedelta(seconds=received_ago_s),
                next_attempt_at=func.now() + timedelta(seconds=next_attempt_in_s),
            )
        )


def _kind(money_update: dict[str, Any]) -> str:
    # What aiogram's event_type says: the message of a payment is a "message" update.
    return next(key for key in money_update if key != "update_id")


async def inbox(sessions: SessionFactory) -> dict[int, TelegramUpdate]:
    """Every inbox row by update id."""
    async with sessions() as session:
        rows = await session.execute(select(TelegramUpdate))
        return {row.update_id: row for row in rows.scalars()}
