"""Async Alembic environment.

The URL comes from ``sqlalchemy.url`` when a caller (tests, the launcher) set it on the
Config, else from the ``APP_CONF__DB__*`` settings, so the same command works on a laptop
and in the Kubernetes migration Job.

Upgrades run while the shop serves (see "Migrations on a live shop" in the README): every
revision commits on its own under ``lock_timeout`` and ``statement_timeout`` (``-x``
arguments, see ``migrations/timeouts.py``), and constraints added NOT VALID are validated
after the revisions committed (see ``migrations/safety.py``).
"""

from __future__ import annotations

import asyncio
import sys
from logging.config import fileConfig
from pathlib import Path
from typing import Any

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from vitrina_common.config import DatabaseSettings, exit_on_config_error, load_settings
from vitrina_common.db import models  # noqa: F401  (registers the tables on the metadata)
from vitrina_common.db.base import Base

# Revisions import migrations.*. alembic.ini's prepend_sys_path is the working directory,
# so the project root is added here for a run started from anywhere else.
_PROJECT_ROOT = str(Path(__file__).resolve().parents[1])
if _PROJECT_ROOT not in sys.path:
    sys.path.insert(0, _PROJECT_ROOT)

from migrations import safety  # noqa: E402
from migrations.timeouts import Timeouts, explain  # noqa: E402

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def _database_url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    return load_settings("migrations", DatabaseSettings).db.sqlalchemy_url()


def _timeouts() -> Timeouts:
    try:
        return Timeouts.from_x_arguments(context.get_x_argument(as_dictionary=True))
    except ValueError as error:
        exit_on_config_error("migrations", [str(error)])


def _configure(timeouts: Timeouts, **options: Any) -> None:
    # Revisions read the timeouts from the context's options (safety.outside_transaction).
    options[safety.TIMEOUTS_OPTION] = timeouts
    context.configure(
        target_metadata=target_metadata,
        compare_type=True,
        compare_server_default=True,
        # One transaction per revision: its locks end with it, and a failure rolls back
        # only the revision that failed (the database stays at the one before, which the
        # running code works on; a rerun resumes there). An autocommit block then commits
        # no more than the start of its own revision.
        transaction_per_migration=True,
        **options,
    )


def _run_migrations(connection: Connection, timeouts: Timeouts) -> None:
    _configure(timeouts, connection=connection)
    with context.begin_transaction():
        context.run_migrations()
    safety.validate_pending(connection, timeouts)


def _revision(connection: Connection) -> str | None:
    try:
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError:
        return None


async def _run_online(timeouts: Timeouts) -> None:
    # Session settings of every connection, so they hold in autocommit blocks too.
    engine = create_async_engine(
        _database_url(), connect_args={"server_settings": timeouts.server_settings()}
    )
    try:
        async with engine.connect() as connection:
            await _run_or_explain(connection, timeouts)
    finally:
        await engine.dispose()


async def _run_or_explain(connection: AsyncConnection, timeouts: Timeouts) -> None:
    try:
        await connection.run_sync(_run_migrations, timeouts)
    except DBAPIError as error:
        await connection.rollback()
        explained = explain(error, timeouts, await connection.run_sync(_revision))
        if explained is error:
            raise
        raise explained from error


def run_migrations_offline() -> None:
    """Emit SQL to stdout (``alembic upgrade head --sql``) for a DBA to review."""
    timeouts = _timeouts()
    _configure(
        timeouts,
        url=_database_url(),
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    for statement in timeouts.set_statements():
        context.execute(statement)
    with context.begin_transaction():
        context.run_migrations()
    context.execute(safety.validate_pending_offline())


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(_run_online(_timeouts()))
