"""Engine and session factory; sessions never autocommit, use cases commit once."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from vitrina_common.config import DbSettings


def create_engine(settings: DbSettings) -> AsyncEngine:
    """An asyncpg engine with a bounded pool and a connect timeout.

    No ``pool_pre_ping``: it costs a round trip on every checkout (measured at 12% of the
    bot's CPU under load). Without it, the first statement on a connection that died with a
    Postgres restart fails once; SQLAlchemy then invalidates every connection of the pool
    opened before the failure, so each process sees one failed operation per restart, which
    callers already survive (a job is retried, a money update stays in the inbox).
    """
    return create_async_engine(
        settings.sqlalchemy_url(),
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        pool_timeout=settings.pool_timeout_s,
        connect_args={"timeout": settings.connect_timeout_s},
    )


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions whose objects stay readable after commit (no lazy reload on attribute access)."""
    return async_sessionmaker(engine, expire_on_commit=False)


def create_read_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for read-only queries, each statement on its own (autocommit).

    The asyncpg driver otherwise wraps every session in BEGIN … ROLLBACK: two extra round
    trips for a one-query read such as a catalog page. Only for use cases that need no
    snapshot across statements and write nothing, or write in one statement (atomic on its
    own, committed when it returns: the render job's guarded "ready" update).
    """
    return async_sessionmaker(
        engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
    )
