"""An admin adds a product from Telegram: the real bot (polling a fake Bot API over HTTP) and
the real worker, on real Postgres and NATS. The preview ends up uploaded once to Telegram and
its file_id cached; the original's file_id is cached from the upload itself."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devstack.processes import ManagedProcess
from tests.fakes.telegram_api import FakeTelegram
from tests.pipeline import jpeg_bytes, settled, status_counts, wait_until
from tests.services import start_service, wait_for_status
from vitrina_common.db.models import Product, ProductStatus

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.nats,
    pytest.mark.slow,
    pytest.mark.usefixtures("nats_client"),
]

ADMIN = 1001
SHOPPER = 2002
SessionFactory = async_sessionmaker[AsyncSession]


@dataclass
class Stack:
    telegram: FakeTelegram
    sessions: SessionFactory


@pytest_asyncio.fixture(loop_scope="session")
async def stack(
    stack_env: dict[str, str],
    session_factory: SessionFactory,
    fake_telegram: FakeTelegram,
    tmp_path: Path,
) -> AsyncIterator[Stack]:
    env = dict(stack_env)
    env["APP_CONF__BOT__ADMIN_IDS"] = f"[{ADMIN}]"
    processes: list[ManagedProcess] = []
    try:
        for service in ("bot", "worker"):
            process, port = await start_service(service, env, tmp_path)
            processes.append(process)
            await wait_for_status(port, "/readyz", 200, process)
        yield Stack(fake_telegram, session_factory)
    finally:
        for process in processes:
            await process.stop(20)


async def _products(sessions: SessionFactory) -> list[Product]:
    async with sessions() as session:
        return list((await session.execute(select(Product).order_by(Product.id))).scalars())


async def test_admin_document_becomes_a_ready_product_with_cached_file_ids(stack: Stack) -> None:
    stack.telegram.push_document(
        ADMIN, jpeg_bytes(5, (2400, 1600)), "Sunset | 150 | Landscapes\nGolden hour."
    )

    await wait_until(lambda: settled(stack.sessions, 1), timeout_s=60)
    await stack.telegram.wait_for_call("sendPhoto", timeout_s=30)
    await wait_until(lambda: _preview_cached(stack.sessions), timeout_s=10)

    [product] = await _products(stack.sessions)
    assert product.status is ProductStatus.READY
    assert (product.title, product.price_stars, product.description) == (
        "Sunset",
        150,
        "Golden hour.",
    )
    assert product.original_file_id == "file-1"
    [upload] = stack.telegram.calls_of("sendPhoto")
    assert upload.params["chat_id"] == ADMIN
    assert upload.params["photo"] == {"upload": f"preview-{product.id}.jpg"}
    texts = [call.params["text"] for call in stack.telegram.calls_of("sendMessage")]
    assert any(text.startswith(f"Added #{product.id} «Sunset», 150 ⭐") for text in texts)


async def _preview_cached(sessions: SessionFactory) -> bool:
    return all(p.preview_file_id for p in await _products(sessions))


async def test_photo_is_accepted_with_a_note_about_recompression(stack: Stack) -> None:
    stack.telegram.push_photo(ADMIN, jpeg_bytes(6, (1280, 853)), "Harbour | 90 | Cities")

    await wait_until(lambda: settled(stack.sessions, 1), timeout_s=60)

    [product] = await _products(stack.sessions)
    assert product.original_file_id is None  # a recompressed photo is not the original
    texts = [call.params["text"] for call in stack.telegram.calls_of("sendMessage")]
    assert any("Telegram recompressed this photo" in text for text in texts)


async def test_unusable_upload_is_reported_to_the_admin(stack: Stack) -> None:
    stack.telegram.push_document(ADMIN, b"GIF89a" + b"\x00" * 100, "Cat | 10 | Animals")

    await wait_until(lambda: settled(stack.sessions, 1), timeout_s=60)
    await wait_until(lambda: _told(stack.telegram, "failed: the file is a GIF"), timeout_s=30)

    assert await status_counts(stack.sessions) == {ProductStatus.FAILED: 1}


async def test_bad_caption_and_oversized_files_are_refused_with_a_reason(stack: Stack) -> None:
    stack.telegram.push_document(ADMIN, jpeg_bytes(7), "just a title")
    stack.telegram.push_document(ADMIN, jpeg_bytes(8), "Big | 10 | X", claimed_size=25 * 2**20)
    stack.telegram.push_document(ADMIN, jpeg_bytes(9), "Free | 0 | X")

    await stack.telegram.wait_for_call("sendMessage", count=3, timeout_s=30)

    texts = [call.params["text"] for call in stack.telegram.calls_of("sendMessage")]
    assert any("three parts separated by |" in text for text in texts)
    assert any("cloud Bot API hands bots files up to 20 MB" in text for text in texts)
    assert any("the price must be a whole number of Stars" in text for text in texts)
    assert await _products(stack.sessions) == []


async def test_non_admin_uploads_create_nothing(stack: Stack) -> None:
    stack.telegram.push_document(SHOPPER, jpeg_bytes(10), "Mine | 1 | Hacks")
    stack.telegram.push_message(SHOPPER, "/start")

    # Both get the shop's menu: to a shopper an upload is just something the bot ignores.
    await stack.telegram.wait_for_call("sendMessage", count=2, timeout_s=30)
    await asyncio.sleep(1)

    assert await _products(stack.sessions) == []
    texts = [call.params["text"] for call in stack.telegram.calls_of("sendMessage")]
    assert all(text.startswith("Welcome to <b>Vitrina</b>") for text in texts)
    assert stack.telegram.calls_of("getFile") == []  # the document was never taken


async def _told(telegram: FakeTelegram, phrase: str) -> bool:
    return any(phrase in str(call.params.get("text")) for call in telegram.calls_of("sendMessage"))
