"""Staff API tokens: created (shown once), listed, revoked, and checked on every request.

A token is ``vit_`` followed by 43 URL-safe characters (32 random bytes); only its sha256
is stored. The prefix makes a leaked token recognisable to secret scanners and people.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.db.models import ApiScope, ApiToken
from vitrina_common.repositories.api_tokens import ApiTokenRepository

TOKEN_PREFIX = "vit_"  # noqa: S105  (a public prefix, not a secret)


def hash_token(token: str) -> bytes:
    """The sha256 stored for ``token``."""
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True)
class IssuedToken:
    """A token just created: ``token`` is never stored and never shown again."""

    id: int
    name: str
    scopes: frozenset[ApiScope]
    token: str


@dataclass(frozen=True)
class TokenInfo:
    """A token as ``api-token list`` shows it (no secret, no hash)."""

    id: int
    name: str
    scopes: frozenset[ApiScope]
    created_by: int | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: a live token and its scopes."""

    token_id: int
    name: str
    scopes: frozenset[ApiScope]


def _info(token: ApiToken) -> TokenInfo:
    return TokenInfo(
        id=token.id,
        name=token.name,
        scopes=frozenset(ApiScope(scope) for scope in token.scopes),
        created_by=token.created_by,
        created_at=token.created_at,
        last_used_at=token.last_used_at,
        revoked_at=token.revoked_at,
    )


class CreateApiToken:
    """Create a token with ``scopes``; the write scope implies read."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def __call__(
        self, name: str, scopes: Iterable[ApiScope], created_by: int | None = None
    ) -> IssuedToken:
        """Store the hash of a new random token and return the token itself."""
        if not name.strip():
            raise ValueError("a token needs a name")
        granted = {ApiScope(scope) for scope in scopes} or {ApiScope.READ}
        if ApiScope.WRITE in granted:
            granted.add(ApiScope.READ)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        async with self._sessions() as session:
            row = await ApiTokenRepository(session).add(
                ApiToken(
                    name=name.strip(),
                    token_hash=hash_token(token),
                    scopes=sorted(granted),
                    created_by=created_by,
                )
            )
            await session.commit()
        return IssuedToken(id=row.id, name=row.name, scopes=frozenset(granted), token=token)


class RevokeApiToken:
    """Revoke a token by id: every later request with it gets 401."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def __call__(self, token_id: int) -> bool:
        """True when the token existed and was live until now."""
        async with self._sessions() as session:
            revoked = await ApiTokenRepository(session).revoke(token_id)
            await session.commit()
        return revoked


class ListApiTokens:
    """Every token, revoked ones included, oldest first."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def __call__(self) -> list[TokenInfo]:
        """The tokens without their hashes."""
        async with self._sessions() as session:
            return [_info(token) for token in await ApiTokenRepository(session).all()]


class AuthenticateApiToken:
    """The principal of a presented token, or None when it is malformed, unknown or revoked.

    One read per request; ``last_used_at`` is written only when it is older than
    ``touch_interval`` (a write per token per minute, not per request).
    """

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], touch_interval: timedelta
    ) -> None:
        self._sessions = sessions
        self._touch_interval = touch_interval

    async def __call__(self, presented: str) -> Principal | None:
        """Look the token up by its hash; touch it when due."""
        if not presented.startswith(TOKEN_PREFIX):
            return None
        async with self._sessions() as session:
            repository = ApiTokenRepository(session)
            token = await repository.by_hash(hash_token(presented))
            if token is None or token.revoked_at is not None:
                return None
            if self._touch_due(token.last_used_at):
                await repository.touch(token.id, self._touch_interval)
                await session.commit()
        return Principal(
            token_id=token.id,
            name=token.name,
            scopes=frozenset(ApiScope(scope) for scope in token.scopes),
        )

    def _touch_due(self, last_used_at: datetime | None) -> bool:
        # Decided on the app's clock to skip the write; the UPDATE re-checks on the database's.
        return last_used_at is None or datetime.now(UTC) - last_used_at >= self._touch_interval
