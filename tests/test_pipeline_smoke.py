"""Smoke: one upload goes through the real worker process to a ready product."""

from __future__ import annotations

from pathlib import Path

import pytest
from nats.aio.client import Client
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devstack.nats import NatsServer
from tests.fakes.telegram_api import TOKEN, FakeTelegram
from tests.pipeline import jpeg_bytes, settled, status_counts, upload, wait_until
from tests.services import service_env, start_service, wait_for_status
from vitrina_common.db.models import ProductStatus

pytestmark = [pytest.mark.postgres, pytest.mark.nats, pytest.mark.slow]


async def test_one_upload_becomes_a_ready_product(
    database: str,
    session_factory: async_sessionmaker[AsyncSession],
    nats_server: NatsServer,
    nats_client: Client,
    fake_telegram: FakeTelegram,
    clean_env: dict[str, str],
    tmp_path: Path,
) -> None:
    env = service_env(
        clean_env,
        database_dsn=database,
        nats_url=nats_server.url,
        telegram_url=fake_telegram.url,
        token=TOKEN,
    )
    process, port = await start_service("worker", env, tmp_path)
    try:
        await wait_for_status(port, "/readyz", 200, process)
        await upload(nats_client, session_factory, [("One", jpeg_bytes(1, (3000, 2000)))])
        await wait_until(lambda: settled(session_factory, 1), timeout_s=30)
    finally:
        await process.stop(15)
    assert await status_counts(session_factory) == {ProductStatus.READY: 1}
