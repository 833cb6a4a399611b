"""Migrations on a live database: a held lock makes an upgrade give up within
``lock_timeout`` (and a rerun finishes it), ``statement_timeout`` bounds a statement,
``CONCURRENTLY`` builds may outwait ``lock_timeout``, and constraints on existing tables are
added NOT VALID and validated after their revision committed."""

from __future__ import annotations

import argparse
import asyncio
import io
import re
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import asyncpg
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, event

from migrations.timeouts import MigrationTimeoutError
from tests.conftest import alembic_config, asyncpg_url
from vitrina_common.db.schema import EXPECTED_SCHEMA_REVISION

pytestmark = pytest.mark.postgres

# Generous bounds for a loaded machine; what they guard against is waiting forever.
_GAVE_UP_WITHIN_S = 10.0
_UPGRADE_TIMEOUT_S = 60.0


def _config(dsn: str, **timeouts: str) -> Config:
    config = alembic_config(asyncpg_url(dsn))
    config.cmd_opts = argparse.Namespace(x=[f"{name}={value}" for name, value in timeouts.items()])
    return config


async def _upgrade(config: Config, revision: str = "head") -> None:
    # env.py runs its own event loop, so it goes to a thread.
    upgrade = asyncio.to_thread(command.upgrade, config, revision)
    await asyncio.wait_for(upgrade, _UPGRADE_TIMEOUT_S)


@asynccontextmanager
async def _holding(dsn: str, statement: str) -> AsyncIterator[asyncpg.Connection]:
    """Another session in an open transaction that ran ``statement``, like a bot's."""
    connection = await asyncpg.connect(dsn)
    transaction = connection.transaction()
    await transaction.start()
    try:
        await connection.execute(statement)
        yield connection
    finally:
        await transaction.rollback()
        await connection.close()


async def _wait_until_blocked(dsn: str, query_start: str) -> None:
    """Until a session running a query that starts with ``query_start`` waits for a lock."""
    connection = await asyncpg.connect(dsn)
    try:
        deadline = time.monotonic() + _UPGRADE_TIMEOUT_S
        while not await connection.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND query LIKE $1",
            f"{query_start}%",
        ):
            assert time.monotonic() < deadline, f"nothing waits running {query_start!r}"
            await asyncio.sleep(0.05)
    finally:
        await connection.close()


async def _fetchval(dsn: str, query: str) -> Any:
    connection = await asyncpg.connect(dsn)
    try:
        return await connection.fetchval(query)
    finally:
        await connection.close()


async def _revision(dsn: str) -> str:
    return str(await _fetchval(dsn, "SELECT version_num FROM alembic_version"))


async def test_upgrade_gives_up_on_a_held_lock_within_lock_timeout(empty_database: str) -> None:
    await _upgrade(_config(empty_database), "0005")

    async with _holding(empty_database, "LOCK TABLE telegram_updates IN ACCESS SHARE MODE"):
        started = time.monotonic()
        with pytest.raises(MigrationTimeoutError, match=r"lock_timeout \(1s\).*revision 0005"):
            await _upgrade(_config(empty_database, lock_timeout="1s"))
        elapsed = time.monotonic() - started

    assert elapsed < _GAVE_UP_WITHIN_S
    assert await _revision(empty_database) == "0005"


async def test_upgrade_run_again_after_a_lock_timeout_reaches_head(empty_database: str) -> None:
    await _upgrade(_config(empty_database), "0005")
    async with _holding(empty_database, "LOCK TABLE orders IN ACCESS SHARE MODE"):
        with pytest.raises(MigrationTimeoutError):
            await _upgrade(_config(empty_database, lock_timeout="1s"))

    await _upgrade(_config(empty_database, lock_timeout="1s"))

    assert await _revision(empty_database) == EXPECTED_SCHEMA_REVISION


async def test_queries_queued_behind_a_waiting_migration_wait_at_most_lock_timeout(
    empty_database: str,
) -> None:
    await _upgrade(_config(empty_database), "0005")
    async with _holding(empty_database, "LOCK TABLE telegram_updates IN ACCESS SHARE MODE"):
        migration = asyncio.create_task(_upgrade(_config(empty_database, lock_timeout="2s")))
        await _wait_until_blocked(empty_database, "ALTER TABLE telegram_updates")
        started = time.monotonic()
        # Queued behind the migration's ACCESS EXCLUSIVE request, as the bot's reads are.
        await asyncio.wait_for(
            _fetchval(empty_database, "SELECT count(*) FROM telegram_updates"), _UPGRADE_TIMEOUT_S
        )
        waited = time.monotonic() - started
        with pytest.raises(MigrationTimeoutError):
            await migration

    assert waited < 2 + _GAVE_UP_WITHIN_S / 2


async def test_a_deadlock_with_a_bot_transaction_fails_the_upgrade_clearly(
    empty_database: str,
) -> None:
    await _upgrade(_config(empty_database), "0005")
    insert = (
        "INSERT INTO telegram_updates (update_id, kind, payload) VALUES ({}, 'message', 'null')"
    )
    await _fetchval(empty_database, insert.format(1))
    # Postgres looks for a deadlock once, deadlock_timeout into a wait, and cancels the
    # waiter that looked. The migration must look after the bot waits too, however late a
    # loaded machine starts the bot's statement (the default 1 s was a thin margin); the
    # bot must not look first.
    await _fetchval(
        empty_database,
        "DO $$ BEGIN EXECUTE format("
        "'ALTER DATABASE %I SET deadlock_timeout = ''5s''', current_database()); END $$",
    )
    async with _holding(empty_database, insert.format(2)) as bot:
        await bot.execute("SET deadlock_timeout = '60s'")
        migration = asyncio.create_task(_upgrade(_config(empty_database, lock_timeout="30s")))
        # 0006 rewrote row 1 (its backfill) and now waits for the bot's table lock...
        await _wait_until_blocked(empty_database, "ALTER TABLE telegram_updates")
        # ...while the bot, as for a redelivered update, waits for row 1.
        redelivered = asyncio.create_task(
            bot.execute(insert.format(1) + " ON CONFLICT (update_id) DO NOTHING")
        )
        with pytest.raises(MigrationTimeoutError, match=r"deadlocked.*revision 0005"):
            await migration
        await redelivered


async def test_a_statement_past_statement_timeout_is_cancelled(empty_database: str) -> None:
    await _upgrade(_config(empty_database), "0005")

    async with _holding(empty_database, "LOCK TABLE telegram_updates IN ACCESS SHARE MODE"):
        with pytest.raises(MigrationTimeoutError, match=r"statement_timeout \(1s\)"):
            await _upgrade(_config(empty_database, lock_timeout="0", statement_timeout="1s"))

    assert await _revision(empty_database) == "0005"


async def test_concurrent_index_builds_outwait_lock_timeout(empty_database: str) -> None:
    await _upgrade(_config(empty_database), "0006")
    # A writer's open transaction: CREATE INDEX CONCURRENTLY waits for it to end.
    writer = "INSERT INTO telegram_updates (update_id, kind) VALUES (1, 'message')"
    async with _holding(empty_database, writer):
        migration = asyncio.create_task(_upgrade(_config(empty_database, lock_timeout="1s")))
        await _wait_until_blocked(empty_database, "CREATE INDEX CONCURRENTLY")
        await asyncio.sleep(2)  # longer than lock_timeout
        assert not migration.done()

    await migration
    assert await _revision(empty_database) == EXPECTED_SCHEMA_REVISION


@contextmanager
def _statements_and_commits() -> Iterator[list[str]]:
    """Every statement and COMMIT of every engine, in order, while the block runs."""
    seen: list[str] = []

    def statement(_c: object, _r: object, sql: str, *_args: object) -> None:
        seen.append(" ".join(sql.split()))

    def commit(_connection: object) -> None:
        seen.append("COMMIT")

    event.listen(Engine, "before_cursor_execute", statement)
    event.listen(Engine, "commit", commit)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", statement)
        event.remove(Engine, "commit", commit)


async def test_constraints_on_existing_tables_are_validated_after_their_revision_commits(
    empty_database: str,
) -> None:
    await _upgrade(_config(empty_database), "0005")
    with _statements_and_commits() as seen:
        await _upgrade(_config(empty_database))

    for table, name in (
        ("orders", "ck_orders_order_status"),
        ("telegram_updates", "ck_telegram_updates_update_outcome"),
        ("telegram_updates", "ck_telegram_updates_attempts_not_negative"),
    ):
        added = next(i for i, sql in enumerate(seen) if f"ADD CONSTRAINT {name} " in sql)
        validated = seen.index(f"ALTER TABLE public.{table} VALIDATE CONSTRAINT {name}")
        assert seen[added].endswith("NOT VALID")
        assert "COMMIT" in seen[added:validated]
    not_valid = "SELECT count(*) FROM pg_constraint WHERE NOT convalidated"
    assert await _fetchval(empty_database, not_valid) == 0


async def test_an_upgrade_validates_what_a_previous_run_left_not_valid(database: str) -> None:
    await _fetchval(
        database,
        "ALTER TABLE orders DROP CONSTRAINT ck_orders_price_positive,"
        " ADD CONSTRAINT ck_orders_price_positive CHECK (price_stars > 0) NOT VALID",
    )

    await _upgrade(_config(database))

    validated = "SELECT convalidated FROM pg_constraint WHERE conname = 'ck_orders_price_positive'"
    assert await _fetchval(database, validated) is True


def test_every_check_or_foreign_key_added_to_a_table_is_added_not_valid() -> None:
    config = _config("postgresql://unused/db")
    config.output_buffer = script = io.StringIO()

    command.upgrade(config, "head", sql=True)

    added = re.findall(
        r"ALTER TABLE \S+ ADD CONSTRAINT \S+ (?:CHECK|FOREIGN KEY)[^;]*;", script.getvalue()
    )
    assert added, "the upgrade adds constraints to existing tables (0006)"
    assert [sql for sql in added if not sql.endswith("NOT VALID;")] == []


def test_a_malformed_timeout_stops_the_upgrade_with_exit_code_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as stopped:
        command.upgrade(_config("postgresql://unused/db", lock_timeout="5 seconds"), "head")

    assert stopped.value.code == 2
    assert "migrations: config error: -x lock_timeout='5 seconds' is invalid" in (
        capsys.readouterr().err
    )
