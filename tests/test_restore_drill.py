"""The restore drill of the README on the real stack: purchases made through the bot, the
originals backed up with ``vitrina-ops``, NATS lost, the originals restored, and every
purchase downloaded again from "My purchases" through the real bot process.

What it does not cover: the database side. CloudNativePG recovery cannot run here, so the
database is kept (a recovered cluster holds the same rows) and only the cached Telegram
``file_id`` of each original is cleared, which forces every download through the Object
Store, the path that needs the restored bytes.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from sqlalchemy import update

from devstack.nats import NatsServer
from devstack.postgres import EmbeddedPostgres
from tests.conftest import reset_jetstream
from tests.money_faults import MoneyStack, invoice, money_stack, product
from tests.storefront import click, press, screen
from vitrina_common.config import NatsSettings
from vitrina_common.db.models import Product
from vitrina_common.messaging.connection import connect_nats
from vitrina_common.storage.objects import ImageStore

pytestmark = [pytest.mark.postgres, pytest.mark.nats, pytest.mark.slow]

BUYER = 7001
TITLES = ("Dune", "Fjord", "Glacier")


async def vitrina_ops(stack: MoneyStack, *args: str) -> tuple[int, str]:
    """Run ``vitrina-ops`` as the CronJob and the operator do: a process with the settings."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "vitrina_common.ops", *args,
        env=stack.env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await process.communicate()
    return process.returncode or 0, output.decode()


async def buy_everything(stack: MoneyStack, originals: dict[str, bytes]) -> None:
    """Stock one product per original (kept in the Object Store only) and buy each."""
    nats = await connect_nats(NatsSettings(url=stack.nats_url), name="drill-setup")
    store = ImageStore(nats.jetstream())
    items = {}
    for title, data in originals.items():
        items[title] = await product(
            stack.sessions, title, original_key=await store.put_original(data)
        )
    await nats.close()
    await stack.start_bot()
    for n, title in enumerate(originals):
        order = await invoice(stack.sessions, BUYER, items[title])
        stack.telegram.push_update(
            stack.telegram.successful_payment_update(BUYER, order.payload, 50, f"drill-{n}")
        )
    await stack.telegram.wait_for_call("sendDocument", count=len(originals), timeout_s=30)


async def lose_nats_and_forget_file_ids(stack: MoneyStack) -> None:
    """The disaster: every stream and bucket gone, an empty JetStream provisioned again (a
    reinstall's provision Job); Telegram's copies of the originals not counted on."""
    nats = await connect_nats(NatsSettings(url=stack.nats_url), name="drill-disaster")
    await reset_jetstream(nats)
    await nats.close()
    async with stack.sessions() as session, session.begin():
        await session.execute(update(Product).values(original_file_id=None))


async def download_again(stack: MoneyStack, title: str) -> bytes:
    """/start → My purchases → ⬇️ title; the bytes the bot uploaded."""
    telegram = stack.telegram
    before = len(telegram.calls_of("sendDocument"))
    telegram.push_message(BUYER, "/start")
    menu = await screen(telegram, BUYER, "Welcome to")
    listing = await click(telegram, BUYER, menu, "My purchases", f"You own {len(TITLES)} images")
    press(telegram, BUYER, listing, telegram.button(listing, f"⬇️ {title}"))
    await telegram.wait_for_call("sendDocument", count=before + 1, timeout_s=20)
    return telegram.uploads_to(BUYER, "sendDocument")[-1].data


async def test_after_nats_is_lost_and_originals_restored_every_purchase_downloads_again(
    postgres: EmbeddedPostgres, migrated_template: str, nats_server: NatsServer, tmp_path: Path
) -> None:
    originals = {title: os.urandom(200_000 + n) for n, title in enumerate(TITLES)}
    backup = str(tmp_path / "originals-backup")
    async with money_stack(postgres, migrated_template, nats_server, tmp_path / "logs") as stack:
        await buy_everything(stack, originals)
        backed_up = await vitrina_ops(stack, "backup-originals", "--dir", backup)
        await stack.stop_bot()

        await lose_nats_and_forget_file_ids(stack)
        lost = await vitrina_ops(stack, "check-originals")
        restored = await vitrina_ops(stack, "restore-originals", "--dir", backup)
        checked = await vitrina_ops(stack, "check-originals")
        await stack.start_bot()
        downloads = {title: await download_again(stack, title) for title in TITLES}

    assert backed_up[0] == 0, backed_up[1]
    assert lost[0] == 1, lost[1]
    assert '"missing": 3' in lost[1]
    assert '"paid_purchases_affected": 3' in lost[1]
    assert restored[0] == 0, restored[1]
    assert '"restored": 3' in restored[1]
    assert checked[0] == 0, checked[1]
    assert '"missing": 0' in checked[1]
    assert downloads == originals
