"""Migrations: every revision goes up, down and up again; the models match the head."""

from __future__ import annotations

import asyncio

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import alembic_config, asyncpg_url, db_settings_for
from vitrina_common.db.base import Base
from vitrina_common.db.engine import create_engine
from vitrina_common.db.schema import EXPECTED_SCHEMA_REVISION, schema_is_current

pytestmark = pytest.mark.postgres


def test_code_expects_the_newest_migration() -> None:
    script = ScriptDirectory.from_config(alembic_config("postgresql+asyncpg://unused/db"))

    assert script.get_heads() == [EXPECTED_SCHEMA_REVISION]


async def test_stairway_every_revision_upgrades_downgrades_and_upgrades_again(
    empty_database: str,
) -> None:
    config = alembic_config(asyncpg_url(empty_database))
    revisions = list(ScriptDirectory.from_config(config).walk_revisions("base", "heads"))

    for revision in reversed(revisions):
        down = revision.down_revision if isinstance(revision.down_revision, str) else "base"
        await asyncio.to_thread(command.upgrade, config, revision.revision)
        await asyncio.to_thread(command.downgrade, config, down)
        await asyncio.to_thread(command.upgrade, config, revision.revision)


async def test_downgrade_to_base_leaves_no_tables(empty_database: str) -> None:
    config = alembic_config(asyncpg_url(empty_database))
    await asyncio.to_thread(command.upgrade, config, "head")
    await asyncio.to_thread(command.downgrade, config, "base")
    engine = create_engine(db_settings_for(empty_database))
    try:
        async with engine.connect() as connection:
            tables = await connection.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            )
            assert sorted(tables.scalars()) == ["alembic_version"]
    finally:
        await engine.dispose()


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    return list(compare_metadata(context, Base.metadata))


async def test_models_match_migrations(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        diff = await connection.run_sync(_diff)

    assert diff == []


async def test_migrated_database_is_current(engine: AsyncEngine) -> None:
    assert await schema_is_current(engine)


async def test_unmigrated_database_is_not_current(empty_database: str) -> None:
    engine = create_engine(db_settings_for(empty_database))
    try:
        assert not await schema_is_current(engine)
    finally:
        await engine.dispose()
