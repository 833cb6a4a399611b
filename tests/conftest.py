"""Session-wide real servers: one embedded Postgres and one ``nats-server -js``, on free ports.

Each test that needs the database gets its own, cloned from a migrated template (a file
copy inside Postgres: milliseconds), and each test that needs NATS starts from an empty
JetStream with the topology provisioned.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio
from alembic import command
from alembic.config import Config
from nats.aio.client import Client
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from devstack.nats import NatsServer, NatsStartError
from devstack.ports import free_port, start_on_free_ports
from devstack.postgres import EmbeddedPostgres, PostgresStartError
from devstack.processes import ManagedProcess
from tests.fakes.telegram_api import TOKEN, FakeTelegram, serving
from tests.services import NATS_PASSWORDS, nats_settings, service_env, zygotes_logging_to
from vitrina_common.config import DbSettings
from vitrina_common.db.engine import create_engine, create_session_factory
from vitrina_common.messaging.connection import connect_nats
from vitrina_common.messaging.provisioning import provision_jetstream
from vitrina_common.messaging.reconcile import TopologyConflictError

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_DB = "vitrina_template"
_database_numbers = itertools.count(1)


def alembic_config(url: str) -> Config:
    """Alembic pointed at ``url`` (an asyncpg SQLAlchemy URL), quiet."""
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", url)
    config.attributes["configure_logging"] = False
    return config


def asyncpg_url(dsn: str) -> str:
    """The SQLAlchemy form of a libpq URL."""
    return dsn.replace("postgresql://", "postgresql+asyncpg://", 1)


@pytest.fixture(scope="session")
def tests_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory for the servers' data, removed by pytest's own retention."""
    return tmp_path_factory.mktemp("servers")


@pytest.fixture(scope="session", autouse=True)
def service_zygotes(tests_tmp: Path) -> Iterator[None]:
    """Services start as forks of a process that imported them (``tests.zygote``)."""
    with zygotes_logging_to(tests_tmp):
        yield


@pytest_asyncio.fixture(scope="session")
async def postgres(tests_tmp: Path) -> AsyncIterator[EmbeddedPostgres]:
    """The session's Postgres (durability off: test data is throwaway)."""

    async def start(ports: tuple[int, ...]) -> tuple[EmbeddedPostgres, ManagedProcess]:
        server = EmbeddedPostgres(tests_tmp / "pg", ports[0], durable=False, max_connections=300)
        process, _ = await server.start(log_file=str(tests_tmp / "postgres.log"))
        return server, process

    # Four pytest processes pick free ports at once: one may take another's before it binds.
    server, process = await start_on_free_ports(
        (free_port(),), start, start_errors=(PostgresStartError,), retrying=print
    )
    yield server
    await process.stop(10)


@pytest_asyncio.fixture(scope="session")
async def migrated_template(postgres: EmbeddedPostgres) -> str:
    """A database at the migrations' head, the template every test database copies."""
    await postgres.ensure_database(TEMPLATE_DB)
    url = asyncpg_url(postgres.dsn(TEMPLATE_DB))
    # env.py runs its own event loop, so it goes to a thread.
    await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
    return TEMPLATE_DB


async def _admin(postgres: EmbeddedPostgres) -> asyncpg.Connection:
    return await asyncpg.connect(postgres.dsn())


@pytest_asyncio.fixture(loop_scope="session")
async def empty_database(postgres: EmbeddedPostgres) -> AsyncIterator[str]:
    """A fresh, unmigrated database; yields its libpq URL."""
    name = f"test_empty_{os.getpid()}_{next(_database_numbers)}"
    admin = await _admin(postgres)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield postgres.dsn(name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@asynccontextmanager
async def created_database(postgres: EmbeddedPostgres, template: str) -> AsyncIterator[str]:
    """A migrated database cloned from ``template`` for as long as the context lasts."""
    name = f"test_{os.getpid()}_{next(_database_numbers)}"
    admin = await _admin(postgres)
    await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield postgres.dsn(name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest_asyncio.fixture(loop_scope="session")
async def database(postgres: EmbeddedPostgres, migrated_template: str) -> AsyncIterator[str]:
    """A migrated database of this test's own; yields its libpq URL."""
    async with created_database(postgres, migrated_template) as dsn:
        yield dsn


def db_settings_for(dsn: str) -> DbSettings:
    """Settings that point the application at ``dsn``."""
    return DbSettings.model_validate({"dsn": dsn})


@pytest_asyncio.fixture(loop_scope="session")
async def engine(database: str) -> AsyncIterator[AsyncEngine]:
    """An application engine on this test's database."""
    engine = create_engine(db_settings_for(database))
    yield engine
    await engine.dispose()


@pytest.fixture
def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions as the services make them."""
    return create_session_factory(engine)


@pytest_asyncio.fixture(scope="session")
async def nats_server(tests_tmp: Path) -> AsyncIterator[NatsServer]:
    """The session's nats-server with JetStream on file storage and a user per service."""

    async def start(ports: tuple[int, ...]) -> tuple[NatsServer, ManagedProcess]:
        server = NatsServer(
            tests_tmp / "nats",
            port=ports[0],
            monitor_port=ports[1],
            server_name="vitrina-test",
            passwords=NATS_PASSWORDS,
        )
        return server, await server.start(log_file=str(tests_tmp / "nats.log"))

    server, process = await start_on_free_ports(
        (free_port(), free_port()), start, start_errors=(NatsStartError,), retrying=print
    )
    yield server
    await process.stop(10)


@pytest_asyncio.fixture(loop_scope="session")
async def nats_client(nats_server: NatsServer) -> AsyncIterator[Client]:
    """An admin's connection to a JetStream wiped clean and provisioned for this test."""
    client = await connect_nats(nats_settings(nats_server.url), name="tests")
    await reset_jetstream(client)
    yield client
    await client.close()


@pytest_asyncio.fixture(loop_scope="session")
async def bot_replica_connections(
    nats_server: NatsServer, nats_client: Client
) -> AsyncIterator[tuple[Client, Client]]:
    """Two connections as the bot's NATS user, as two webhook replicas would hold."""
    del nats_client  # provisions the buckets first
    first = await connect_nats(nats_settings(nats_server.url, "bot"), name="replica-1")
    second = await connect_nats(nats_settings(nats_server.url, "bot"), name="replica-2")
    yield first, second
    await first.close()
    await second.close()


_RECREATE_TRIES = 5


async def reset_jetstream(client: Client) -> None:
    """Delete every stream (buckets are streams too) and provision the topology anew: an
    admin's work, which no service user may do."""
    js = client.jetstream()
    for stream in await js.streams_info():
        await js.delete_stream(stream.config.name or "")
    for attempt in range(1, _RECREATE_TRIES + 1):
        try:
            await provision_jetstream(js)
        except TopologyConflictError as conflict:
            # nats-server may still be removing a deleted stream's files when the stream is
            # created again: "error creating store for stream (error 10049)", seen once under
            # load. A moment later the same creation succeeds.
            if "error 10049" not in str(conflict) or attempt == _RECREATE_TRIES:
                raise
            await asyncio.sleep(0.2 * attempt)
        else:
            return


@pytest_asyncio.fixture(loop_scope="session")
async def fake_telegram() -> AsyncIterator[FakeTelegram]:
    """A fake Bot API server on a free loopback port."""
    async with serving() as fake:
        yield fake


def service_base_env() -> dict[str, str]:
    """The environment for a service subprocess: no APP_CONF__ leaking from the developer."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("APP_CONF")}
    env["APP_CONF_SECRETS_DIR"] = "/nonexistent"
    return env


@pytest.fixture
def clean_env() -> dict[str, str]:
    """See ``service_base_env``."""
    return service_base_env()


@pytest.fixture
def stack_env(
    database: str, nats_server: NatsServer, fake_telegram: FakeTelegram, clean_env: dict[str, str]
) -> dict[str, str]:
    """Environment for a bot or worker process on this test's database, the session's NATS
    and this test's fake Telegram."""
    return service_env(
        clean_env,
        database_dsn=database,
        nats_url=nats_server.url,
        telegram_url=fake_telegram.url,
        token=TOKEN,
    )
