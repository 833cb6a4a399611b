"""The bot and worker processes: probes, dependency outages, graceful stop, the polling path."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devstack.nats import NatsServer
from devstack.ports import free_port
from tests.fakes.telegram_api import TOKEN, FakeTelegram
from tests.services import probe, service_env, start_service, wait_for_status
from vitrina_common.db.models import Language, User

# Each test starts from an empty, provisioned JetStream.
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.nats,
    pytest.mark.slow,
    pytest.mark.usefixtures("nats_client"),
]


@pytest.mark.parametrize("service", ["bot", "worker"])
async def test_service_becomes_ready_and_stops_on_sigterm(
    service: str,
    stack_env: dict[str, str],
    tmp_path: Path,
) -> None:
    env = dict(stack_env)
    process, port = await start_service(service, env, tmp_path, fresh_interpreter=True)
    try:
        await wait_for_status(port, "/readyz", 200, process)
        assert await probe(port, "/healthz") == 200
        assert await probe(port, "/metrics") == 200
    finally:
        started = time.monotonic()
        code = await process.stop(timeout_s=15)
    assert code == 0
    assert time.monotonic() - started < 10


# SIGTERM to exit for an idle service (loops parked in a JetStream fetch, a long poll, a
# sleep): what a rolling update waits per replica. Measured ~0.5 s on a loaded 2-core
# machine; a cancel lost in a NATS request waited for the SIGKILL, and the interpreter's
# exit over the unfrozen imports took 3-6 s.
IDLE_STOP_BUDGET_S = 3.0


async def _idle(service: str, telegram: FakeTelegram, log: Path) -> None:
    """Until the service runs its steady loops: the bot has answered an update (and long-polls
    again), the worker says it consumes."""
    if service == "bot":
        telegram.push_message(user_id=778, text="/start")
        await telegram.wait_for_call("sendMessage", timeout_s=60)
        return
    async with asyncio.timeout(60):
        # Another process: its (small) log is polled.
        while "worker consuming" not in log.read_text():  # noqa: ASYNC110, ASYNC240
            await asyncio.sleep(0.1)


# Longer than two of the bot's event consumers' 5 s fetches: their pull requests expire and
# the late replies queue up in the subscriptions, which a drain used to wait on for 30 s.
EVENT_FETCHES_S = 12.0


@pytest.mark.parametrize(
    ("service", "idle_s"),
    [("bot", 0.0), ("worker", 0.0), ("bot", EVENT_FETCHES_S)],
    ids=["bot", "worker", "bot idle through its event fetches"],
)
async def test_an_idle_service_exits_within_seconds_of_sigterm(
    service: str,
    idle_s: float,
    stack_env: dict[str, str],
    fake_telegram: FakeTelegram,
    tmp_path: Path,
) -> None:
    process, port = await start_service(service, dict(stack_env), tmp_path, fresh_interpreter=True)
    try:
        await wait_for_status(port, "/readyz", 200, process)
        await _idle(service, fake_telegram, tmp_path / f"{service}.log")
        await asyncio.sleep(idle_s)
    finally:
        started = time.monotonic()
        code = await process.stop(timeout_s=30)
    stopped_in_s = time.monotonic() - started

    assert code == 0, "killed after 30 s: the stop hung"
    assert stopped_in_s < IDLE_STOP_BUDGET_S


async def test_unreachable_database_keeps_the_process_up_but_not_ready(
    nats_server: NatsServer,
    fake_telegram: FakeTelegram,
    clean_env: dict[str, str],
    tmp_path: Path,
) -> None:
    nobody_listens = f"postgresql://postgres@127.0.0.1:{free_port()}/vitrina"
    env = service_env(
        clean_env,
        database_dsn=nobody_listens,
        nats_url=nats_server.url,
        telegram_url=fake_telegram.url,
        token=TOKEN,
    )
    process, port = await start_service("bot", env, tmp_path)
    try:
        await wait_for_status(port, "/healthz", 200, process)
        await asyncio.sleep(2)
        assert process.running
        assert await probe(port, "/readyz") == 503
    finally:
        code = await process.stop(timeout_s=15)
    log = (tmp_path / "bot.log").read_text()
    assert "dependency unreachable, retrying" in log
    assert "Traceback" not in log
    assert code == 0


async def test_unmigrated_database_is_reported_and_not_ready(
    empty_database: str,
    nats_server: NatsServer,
    fake_telegram: FakeTelegram,
    clean_env: dict[str, str],
    tmp_path: Path,
) -> None:
    env = service_env(
        clean_env,
        database_dsn=empty_database,
        nats_url=nats_server.url,
        telegram_url=fake_telegram.url,
        token=TOKEN,
    )
    process, port = await start_service("worker", env, tmp_path)
    try:
        await wait_for_status(port, "/healthz", 200, process)
        await asyncio.sleep(1)
        assert await probe(port, "/readyz") == 503
    finally:
        await process.stop(timeout_s=15)
    assert "run `alembic upgrade head`" in (tmp_path / "worker.log").read_text()


async def test_start_registers_the_user_and_answers_in_their_language(
    stack_env: dict[str, str],
    session_factory: async_sessionmaker[AsyncSession],
    fake_telegram: FakeTelegram,
    tmp_path: Path,
) -> None:
    env = dict(stack_env)
    process, port = await start_service("bot", env, tmp_path)
    try:
        await wait_for_status(port, "/readyz", 200, process)
        fake_telegram.push_message(user_id=777, text="/start", language_code="ru")
        await fake_telegram.wait_for_call("sendMessage", timeout_s=20)
    finally:
        await process.stop(timeout_s=15)

    reply = fake_telegram.calls_of("sendMessage")[-1]
    assert reply.params["chat_id"] == 777
    assert reply.params["text"].startswith("Добро пожаловать")
    async with session_factory() as session:
        user = (await session.execute(select(User).where(User.telegram_id == 777))).scalar_one()
    assert user.language is Language.RU


async def test_a_token_telegram_rejects_stops_the_bot_with_exit_2(
    database: str,
    nats_server: NatsServer,
    fake_telegram: FakeTelegram,
    clean_env: dict[str, str],
    tmp_path: Path,
) -> None:
    env = service_env(
        clean_env,
        database_dsn=database,
        nats_url=nats_server.url,
        telegram_url=fake_telegram.url,
        token="1:revoked-in-botfather",
    )
    process, _ = await start_service("bot", env, tmp_path)
    async with asyncio.timeout(60):
        code = await process.process.wait()

    assert code == 2
    log = (tmp_path / "bot.log").read_text()
    assert "bot: config error: Telegram rejected the bot token (401 Unauthorized)" in log
    assert "Traceback" not in log
