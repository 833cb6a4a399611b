"""Staff API tokens, looked up by the sha256 of the token a request presents."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from vitrina_common.db.models import ApiToken


class ApiTokenRepository:
    """Reads and writes ``api_tokens`` inside the caller's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, token: ApiToken) -> ApiToken:
        """Insert ``token`` and load its id and creation time."""
        self._session.add(token)
        await self._session.flush()
        await self._session.refresh(token)
        return token

    async def by_hash(self, token_hash: bytes) -> ApiToken | None:
        """The token with this hash, revoked or not."""
        result = await self._session.execute(
            select(ApiToken).where(ApiToken.token_hash == token_hash)
        )
        return result.scalar_one_or_none()

    async def all(self) -> list[ApiToken]:
        """Every token, oldest first."""
        return list((await self._session.scalars(select(ApiToken).order_by(ApiToken.id))).all())

    async def revoke(self, token_id: int) -> bool:
        """Mark the token revoked now; False when there is no such token or it was already."""
        result = await self._session.execute(
            update(ApiToken)
            .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=func.now())
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def touch(self, token_id: int, interval: timedelta) -> None:
        """Set last_used_at to now unless it was set within ``interval``.

        The condition is in the statement, so replicas racing to touch one token write once.
        """
        await self._session.execute(
            update(ApiToken)
            .where(
                ApiToken.id == token_id,
                or_(
                    ApiToken.last_used_at.is_(None),
                    ApiToken.last_used_at < func.now() - interval,
                ),
            )
            .values(last_used_at=func.now())
            .execution_options(synchronize_session=False)
        )
