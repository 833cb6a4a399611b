"""Which schema revision this code expects, and whether the database is at it."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine

# The Alembic head this code was written against. A test compares it with migrations/,
# so a new revision without bumping this fails CI instead of a readiness probe.
EXPECTED_SCHEMA_REVISION = "0012"


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision stamped in ``alembic_version``, or None for an unmigrated database."""
    async with engine.connect() as connection:
        try:
            result = await connection.execute(text("SELECT version_num FROM alembic_version"))
        except ProgrammingError:
            return None
        return result.scalar_one_or_none()


class SchemaNotReadyError(RuntimeError):
    """The database answers but is not at the schema revision this code needs."""


async def ensure_schema_current(engine: AsyncEngine) -> None:
    """Return when the database answers and is at the expected revision.

    Raises the driver's connection error when it does not answer, ``SchemaNotReadyError``
    (saying what to run) when its schema is another revision.
    """
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
    revision = await current_revision(engine)
    if revision != EXPECTED_SCHEMA_REVISION:
        raise SchemaNotReadyError(
            f"schema is at {revision or 'nothing'}, this build needs "
            f"{EXPECTED_SCHEMA_REVISION}: run `alembic upgrade head`"
        )


async def schema_is_current(engine: AsyncEngine) -> bool:
    """True when the database schema is at the revision this code expects."""
    return await current_revision(engine) == EXPECTED_SCHEMA_REVISION
