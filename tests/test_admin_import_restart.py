"""A worker killed in the middle of an import (SIGKILL to its process group, as an OOM kill
or a lost node would) and started again: the import completes with the exact count, every
product once, and one render job each."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select

from devstack.nats import NatsServer
from devstack.postgres import EmbeddedPostgres
from tests.import_files import (
    CSV_MIME,
    ZIP_MIME,
    SessionFactory,
    csv_file,
    newest_batch,
    open_import_screen,
    send_file,
    summed_up_batch,
    zip_file,
)
from tests.pipeline import jpeg_bytes
from tests.services import kill_process_group, start_service, wait_for_status
from tests.storefront import Stocked, running_shop, screen
from vitrina_common.db.models import Category, ImportBatch, OutboxMessage, Product
from vitrina_common.services.imports import ImportProgress

pytestmark = [pytest.mark.postgres, pytest.mark.nats, pytest.mark.slow]

ADMIN = 4900
ROWS = 600


async def stock_category(sessions: SessionFactory) -> Stocked:
    async with sessions() as session, session.begin():
        category = Category(title="Ночь")
        session.add(category)
        await session.flush()
        return Stocked(category.id, [])


async def rows_done(sessions: SessionFactory) -> int:
    batch = await newest_batch(sessions)
    view = None if batch is None else await ImportProgress(sessions).view(batch.id)
    return 0 if view is None else view.rows_done


async def test_a_worker_killed_mid_import_and_restarted_completes_it_exactly_once(
    postgres: EmbeddedPostgres,
    migrated_template: str,
    nats_server: NatsServer,
    tmp_path: Path,
) -> None:
    # Jobs of the killed worker come back after ack_wait: short, so the test is quick.
    fast_redelivery = {"APP_CONF__WORKER__ACK_WAIT_S": "2", "APP_CONF__WORKER__MAX_DELIVER": "6"}
    async with running_shop(
        postgres, migrated_template, nats_server, tmp_path,
        admin_ids=[ADMIN], stock=stock_category, with_worker=True, extra_env=fast_redelivery,
    ) as shop:  # fmt: skip
        assert shop.worker is not None
        rows = [(f"Ночь {n}", "", 7, "Ночь", f"{n % 60}.jpg") for n in range(ROWS)]
        images = {f"{n}.jpg": jpeg_bytes(700 + n) for n in range(60)}
        await open_import_screen(shop.telegram, ADMIN)
        send_file(shop.telegram, ADMIN, csv_file(rows), "night.csv", CSV_MIME)
        await screen(shop.telegram, ADMIN, "Now send the ZIP")
        send_file(shop.telegram, ADMIN, zip_file(images), "night.zip", ZIP_MIME)

        async with asyncio.timeout(60):
            while await rows_done(shop.sessions) < 20:  # noqa: ASYNC110  (another process)
                await asyncio.sleep(0.02)
        kill_process_group(shop.worker)
        killed_at = await rows_done(shop.sessions)
        print(f"killed the worker at {killed_at}/{ROWS} rows")  # noqa: T201  (shown with -s)
        restarted, health = await start_service("worker", shop.env, tmp_path / "restarted")
        try:
            await wait_for_status(health, "/readyz", 200, restarted)
            batch = await summed_up_batch(shop.sessions, 0, timeout_s=120)
            counts = await _counts(shop.sessions)
        finally:
            await restarted.stop(20)

    assert killed_at < ROWS, "the import finished before the kill: nothing was tested"
    assert (batch.imported, batch.already_imported, batch.failed) == (ROWS, 0, 0)
    assert counts == (ROWS, ROWS, ROWS, 1)


async def _counts(sessions: SessionFactory) -> tuple[int, int, int, int]:
    """Products, distinct import keys, render jobs in the outbox, imports."""
    async with sessions() as session:
        products = await session.scalar(select(func.count(Product.id)))
        keys = await session.scalar(select(func.count(func.distinct(Product.import_key))))
        renders = await session.scalar(
            select(func.count()).where(
                OutboxMessage.payload["subject"].as_string() == "jobs.preview.render"
            )
        )
        imports = await session.scalar(select(func.count(ImportBatch.id)))
    return int(products or 0), int(keys or 0), int(renders or 0), int(imports or 0)
