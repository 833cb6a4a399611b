"""Smoke: one upload goes through the real worker process to a ready product."""

from __future__ import annotations

from pathlib import Path

import pytest
from nats.aio.client import Client
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.pipeline import jpeg_bytes, settled, status_counts, upload, wait_until
from tests.services import start_service, wait_for_status
from vitrina_common.db.models import ProductStatus

pytestmark = [pytest.mark.postgres, pytest.mark.nats, pytest.mark.slow]


async def test_one_upload_becomes_a_ready_product(
    stack_env: dict[str, str],
    session_factory: async_sessionmaker[AsyncSession],
    nats_client: Client,
    tmp_path: Path,
) -> None:
    env = dict(stack_env)
    process, port = await start_service("worker", env, tmp_path)
    try:
        await wait_for_status(port, "/readyz", 200, process)
        await upload(nats_client, session_factory, [("One", jpeg_bytes(1, (3000, 2000)))])
        await wait_until(lambda: settled(session_factory, 1), timeout_s=30)
    finally:
        await process.stop(15)
    assert await status_counts(session_factory) == {ProductStatus.READY: 1}
