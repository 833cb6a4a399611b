"""The bot's side of the worker's files: sent when Telegram takes them, explained when not.

The real consumer class, a real JetStream Object Store and Postgres, the real aiogram client
talking to the fake Bot API over HTTP; only the send limit is made small.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from nats.aio.client import Client
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.fakes.telegram_api import TOKEN, FakeTelegram, ScriptedError
from vitrina_bot.artifact_events import MIB, ArtifactEventsConsumer
from vitrina_common.cancellation import cancel_and_wait
from vitrina_common.messaging.contracts import ArtifactFailed, ArtifactReady
from vitrina_common.messaging.publishing import publish
from vitrina_common.services.profile import Profiles
from vitrina_common.storage.objects import ImageStore

pytestmark = [pytest.mark.postgres, pytest.mark.nats]

ADMIN = 4242


@pytest_asyncio.fixture(loop_scope="session")
async def bot(fake_telegram: FakeTelegram) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(fake_telegram.url))
    async with Bot(token=TOKEN, session=session) as bot:
        yield bot


@pytest.fixture
def consumer(
    nats_client: Client, bot: Bot, session_factory: async_sessionmaker[AsyncSession]
) -> ArtifactEventsConsumer:
    profiles = Profiles(session_factory)
    return ArtifactEventsConsumer(nats_client.jetstream(), bot, profiles, max_send_bytes=MIB)


async def _stored(nats_client: Client, key: str, size: int) -> ArtifactReady:
    await ImageStore(nats_client.jetstream()).put_artifact(key, b"x" * size)
    return ArtifactReady(artifact_key=key, chat_id=ADMIN, filename="users-2026-11-25.csv")


async def test_a_file_within_the_limit_is_sent_as_a_document(
    consumer: ArtifactEventsConsumer, nats_client: Client, fake_telegram: FakeTelegram
) -> None:
    event = await _stored(nats_client, "exports/small/users.csv", MIB)

    await consumer.send(event)

    (upload,) = fake_telegram.uploads_to(ADMIN, "sendDocument")
    assert upload.filename == "users-2026-11-25.csv"
    assert len(upload.data) == MIB


async def test_a_file_over_the_limit_is_not_sent_and_the_admin_is_told_its_size(
    consumer: ArtifactEventsConsumer, nats_client: Client, fake_telegram: FakeTelegram
) -> None:
    event = await _stored(nats_client, "exports/big/users.csv", MIB + MIB // 2)

    await consumer.send(event)

    assert fake_telegram.uploads_to(ADMIN, "sendDocument") == []
    (notice,) = [call.params["text"] for call in fake_telegram.calls_of("sendMessage")]
    assert notice == (
        "❌ users-2026-11-25.csv is 1.5 MB: more than the 1 MB Telegram lets a bot send, "
        "so it was not sent."
    )


async def test_a_job_the_worker_gave_up_on_is_told_in_words(
    consumer: ArtifactEventsConsumer, fake_telegram: FakeTelegram
) -> None:
    failed = ArtifactFailed(
        job_key="export:users:0", chat_id=ADMIN, text_key="admin.reports.export.users_failed"
    )

    await consumer.tell_failed(failed)

    (call,) = fake_telegram.calls_of("sendMessage")
    assert call.params["text"] == "❌ The users CSV could not be made. Please try again later."


async def test_a_blip_on_one_chart_keeps_the_three_in_their_order(
    consumer: ArtifactEventsConsumer, nats_client: Client, fake_telegram: FakeTelegram
) -> None:
    """The worker publishes revenue, best sellers, new users; Telegram fails the first send
    once. Tried again in place, it still comes first (a nak would have let the others by)."""
    js = nats_client.jetstream()
    names = ["revenue", "best-sellers", "new-users"]
    for name in names:
        key = f"charts/blip/{name}.png"
        await ImageStore(js).put_artifact(key, b"\x89PNG" + name.encode())
        await publish(
            js, ArtifactReady(artifact_key=key, chat_id=ADMIN, filename=f"{name}.png", kind="photo")
        )
    fake_telegram.fail_next("sendPhoto", ScriptedError(500, "Internal Server Error"))

    running = asyncio.create_task(consumer.run())
    try:
        async with asyncio.timeout(20):
            # The fake keeps the refused upload too: four in all.
            while len(fake_telegram.uploads_to(ADMIN, "sendPhoto")) < 4:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
    finally:
        await cancel_and_wait([running])

    sent = [upload.filename for upload in fake_telegram.uploads_to(ADMIN, "sendPhoto")]
    assert sent == ["revenue.png"] + [f"{name}.png" for name in names]
    assert [call.method for call in fake_telegram.calls][:2] == ["sendPhoto:failed", "sendPhoto"]
