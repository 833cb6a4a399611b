"""The bot process dies and comes back: payments taken before the crash are delivered once,
and a shopper continues the dialog where they were (state lives in NATS KV)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devstack.nats import NatsServer
from devstack.processes import ManagedProcess
from tests.fakes.telegram_api import TOKEN, FakeTelegram
from tests.services import kill_process_group, service_env, start_service, wait_for_status
from tests.storefront import click, press, screen, stock_shop
from vitrina_common.db.models import Order, Purchase

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.nats,
    pytest.mark.slow,
    pytest.mark.usefixtures("nats_client"),
]

SHOPPER = 4242
SessionFactory = async_sessionmaker[AsyncSession]


@dataclass
class BotUnderTest:
    env: dict[str, str]
    logs: Path
    process: ManagedProcess | None = None
    runs: int = field(default=0)

    async def start(self) -> None:
        self.runs += 1
        self.process, port = await start_service("bot", self.env, self.logs / f"run{self.runs}")
        await wait_for_status(port, "/readyz", 200, self.process)

    async def kill(self) -> None:
        assert self.process is not None
        kill_process_group(self.process)
        await self.process.process.wait()


@pytest_asyncio.fixture(loop_scope="session")
async def bot(
    database: str,
    nats_server: NatsServer,
    fake_telegram: FakeTelegram,
    clean_env: dict[str, str],
    tmp_path: Path,
) -> AsyncIterator[BotUnderTest]:
    env = service_env(
        clean_env, database_dsn=database, nats_url=nats_server.url,
        telegram_url=fake_telegram.url, token=TOKEN,
    )  # fmt: skip
    under_test = BotUnderTest(env, tmp_path)
    await under_test.start()
    yield under_test
    if under_test.process is not None:
        await under_test.process.stop(20)


async def test_payment_fetched_before_a_crash_is_delivered_once_after_restart(
    bot: BotUnderTest, fake_telegram: FakeTelegram, session_factory: SessionFactory
) -> None:
    await stock_shop(session_factory, "Cities", ["Harbour"])
    fake_telegram.push_message(SHOPPER, "/start")
    menu = await screen(fake_telegram, SHOPPER, "Welcome to")
    categories = await click(fake_telegram, SHOPPER, menu, "Catalog", "Choose a category")
    products = await click(fake_telegram, SHOPPER, categories, "Cities", "1 image")
    card = await click(fake_telegram, SHOPPER, products, "Harbour", "Price: 50 ⭐")
    press(fake_telegram, SHOPPER, card, fake_telegram.button(card, "Buy"))
    await fake_telegram.wait_for_call("sendInvoice")
    payload = str(fake_telegram.calls_of("sendInvoice")[-1].params["payload"])
    fake_telegram.push_pre_checkout(SHOPPER, payload, 50)
    await fake_telegram.wait_for_call("answerPreCheckoutQuery")

    # Hold the order row so recording the payment cannot commit, then kill the bot once
    # Telegram has been told the update arrived (the next getUpdates moved past it).
    async with session_factory() as blocker, blocker.begin():
        await blocker.execute(
            select(Order).where(Order.invoice_payload == payload).with_for_update()
        )
        update_id = fake_telegram.push_update(
            fake_telegram.successful_payment_update(SHOPPER, payload, 50, charge_id="ch-crash")
        )
        async with asyncio.timeout(15):
            while fake_telegram.confirmed_offset <= update_id:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # the handler is now waiting on our lock
        await bot.kill()
        await blocker.execute(text("SELECT 1"))
    assert fake_telegram.calls_of("sendDocument") == []

    await bot.start()
    await fake_telegram.wait_for_call("sendDocument", timeout_s=30)
    await asyncio.sleep(2)

    assert len(fake_telegram.calls_of("sendDocument")) == 1
    async with session_factory() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(Purchase)
            .where(Purchase.telegram_payment_charge_id == "ch-crash")
        )
    assert count == 1


async def test_shopper_continues_the_dialog_after_a_restart(
    bot: BotUnderTest, fake_telegram: FakeTelegram, session_factory: SessionFactory
) -> None:
    await stock_shop(session_factory, "Seas", [f"Wave {n}" for n in range(1, 12)])
    fake_telegram.push_message(SHOPPER, "/start")
    menu = await screen(fake_telegram, SHOPPER, "Welcome to")
    categories = await click(fake_telegram, SHOPPER, menu, "Catalog", "Choose a category")
    first = await click(fake_telegram, SHOPPER, categories, "Seas", "page 1 of 2")
    second = await click(fake_telegram, SHOPPER, first, "▶️", "page 2 of 2")

    await bot.kill()
    await bot.start()

    card = await click(fake_telegram, SHOPPER, second, "Wave 11", "Price: 50 ⭐")
    assert "Wave 11" in str(card.get("caption"))
