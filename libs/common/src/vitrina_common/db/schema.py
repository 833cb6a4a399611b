"""Which schema revision this code expects, and whether the database is at it."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine

# The Alembic head this code was written against. A test compares it with migrations/,
# so a new revision without bumping this fails CI instead of a readiness probe.
EXPECTED_SCHEMA_REVISION = "0009"


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision stamped in ``alembic_version``, or None for an unmigrated database."""
    async with engine.connect() as connection:
        try:
            result = await connection.execute(text("SELECT version_num FROM alembic_version"))
        except ProgrammingError:
            return None
        return result.scalar_one_or_none()


async def schema_is_current(engine: AsyncEngine) -> bool:
    """True when the database schema is at the revision this code expects."""
    return await current_revision(engine) == EXPECTED_SCHEMA_REVISION
