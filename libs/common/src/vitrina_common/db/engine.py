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
    """An asyncpg engine with a bounded pool and a connect timeout."""
    return create_async_engine(
        settings.sqlalchemy_url(),
        pool_size=settings.pool_size,
        pool_pre_ping=True,
        connect_args={"timeout": settings.connect_timeout_s},
    )


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions whose objects stay readable after commit (no lazy reload on attribute access)."""
    return async_sessionmaker(engine, expire_on_commit=False)
