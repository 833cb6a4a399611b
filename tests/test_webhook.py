"""Webhook mode: the secret token is checked before anything runs, an update is answered
after it was processed, and a repeated update id is recognised and skipped."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from devstack.nats import NatsServer
from devstack.ports import LOOPBACK, free_port
from tests.fakes.telegram_api import TOKEN, FakeTelegram
from tests.services import service_env, start_service, wait_for_status

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.nats,
    pytest.mark.slow,
    pytest.mark.usefixtures("nats_client"),
]

SECRET = "webhook-secret-for-tests"
PATH = "/telegram/webhook"


@pytest_asyncio.fixture(loop_scope="session")
async def webhook_url(
    database: str,
    nats_server: NatsServer,
    fake_telegram: FakeTelegram,
    clean_env: dict[str, str],
    tmp_path: Path,
) -> AsyncIterator[str]:
    env = service_env(
        clean_env, database_dsn=database, nats_url=nats_server.url,
        telegram_url=fake_telegram.url, token=TOKEN,
    )  # fmt: skip
    port = free_port()
    env |= {
        "APP_CONF__BOT__MODE": "webhook",
        "APP_CONF__BOT__WEBHOOK_URL": "https://shop.test/telegram/webhook",
        "APP_CONF__BOT__WEBHOOK_SECRET": SECRET,
        "APP_CONF__BOT__WEBHOOK_PORT": str(port),
    }
    bot, health = await start_service("bot", env, tmp_path)
    try:
        await wait_for_status(health, "/readyz", 200, bot)
        await fake_telegram.wait_for_call("setWebhook")
        yield f"http://{LOOPBACK}:{port}{PATH}"
    finally:
        await bot.stop(20)


def start_update(update_id: int, user_id: int) -> dict[str, object]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_700_000_000,
            "chat": {"id": user_id, "type": "private"},
            "from": {"id": user_id, "is_bot": False, "first_name": "Web", "language_code": "en"},
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


async def post(url: str, body: dict[str, object], secret: str | None) -> tuple[int, str]:
    headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, json=body, headers=headers) as response,
    ):
        return response.status, await response.text()


async def test_webhook_is_registered_with_the_secret(
    webhook_url: str, fake_telegram: FakeTelegram
) -> None:
    [registration] = fake_telegram.calls_of("setWebhook")

    assert registration.params["url"] == "https://shop.test/telegram/webhook"
    assert registration.params["secret_token"] == SECRET
    assert webhook_url.endswith(PATH)


async def test_update_without_the_right_secret_is_refused_and_not_processed(
    webhook_url: str, fake_telegram: FakeTelegram
) -> None:
    assert (await post(webhook_url, start_update(1, 501), secret=None))[0] == 401
    assert (await post(webhook_url, start_update(2, 501), secret="guess"))[0] == 401

    assert fake_telegram.calls_of("sendMessage") == []


async def test_update_is_processed_before_the_answer_and_a_repeat_is_skipped(
    webhook_url: str, fake_telegram: FakeTelegram
) -> None:
    first = await post(webhook_url, start_update(10, 502), secret=SECRET)
    # Answered after processing: the menu was already sent when the response arrived.
    menus_after_first = len(fake_telegram.calls_of("sendMessage"))
    repeat = await post(webhook_url, start_update(10, 502), secret=SECRET)

    assert first == (200, "ok")
    assert menus_after_first == 1
    assert repeat == (200, "duplicate")
    assert len(fake_telegram.calls_of("sendMessage")) == 1


async def test_garbage_body_is_a_400_not_a_crash(webhook_url: str) -> None:
    status, _ = await post(webhook_url, {"hello": "world"}, secret=SECRET)

    assert status == 400
