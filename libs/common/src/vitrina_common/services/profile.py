"""Use cases of a shopper's profile: email and language."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.db.models import Language
from vitrina_common.repositories.users import UserRepository

# Deliberately simple: one @, something before it, a dot in the domain, no spaces. The
# only real check of an address is mail arriving; this catches typos like "ann.example.com".
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$")
MAX_EMAIL_LENGTH = 254


class EmailOutcome(StrEnum):
    SAVED = "saved"
    INVALID = "invalid"
    TAKEN = "taken"


@dataclass(frozen=True)
class ProfileView:
    """What the profile screen shows."""

    first_name: str | None
    email: str | None
    language: Language


@dataclass(frozen=True)
class UserContext:
    """Per-update facts about the sender, loaded once by a middleware."""

    user_id: int
    language: Language
    is_blocked: bool
    is_banned: bool


class UserContextCache:
    """Recently loaded user contexts, so a burst of taps costs one query, not one each.

    Entries live ``ttl_s`` seconds: changes made through this process (language, blocked)
    drop the entry at once; a change made elsewhere (another replica, an admin banning the
    user) is seen within ``ttl_s``. Only registered users are cached.
    """

    def __init__(self, ttl_s: float = 3.0, max_entries: int = 50_000) -> None:
        self._ttl_s = ttl_s
        self._max_entries = max_entries
        self._entries: dict[int, tuple[float, UserContext]] = {}

    def get(self, telegram_id: int) -> UserContext | None:
        """The cached context if still fresh."""
        entry = self._entries.get(telegram_id)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, telegram_id: int, context: UserContext) -> None:
        """Remember ``context`` for ``ttl_s`` seconds."""
        if len(self._entries) >= self._max_entries:
            self._entries.clear()  # cheaper than LRU bookkeeping; refills in one TTL
        self._entries[telegram_id] = (time.monotonic() + self._ttl_s, context)

    def forget(self, telegram_id: int) -> None:
        """Drop a user's entry (their profile just changed)."""
        self._entries.pop(telegram_id, None)


class Profiles:
    """Reads and changes a user's profile; each change is one transaction."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        read_session_factory: async_sessionmaker[AsyncSession] | None = None,
        contexts: UserContextCache | None = None,
    ) -> None:
        self._session_factory = session_factory
        self._read_sessions = read_session_factory or session_factory
        self._contexts = contexts or UserContextCache()

    async def context(self, telegram_id: int) -> UserContext | None:
        """Language and status of a registered user, None before their first /start."""
        cached = self._contexts.get(telegram_id)
        if cached is not None:
            return cached
        async with self._read_sessions() as session:
            row = await UserRepository(session).context(telegram_id)
        if row is None:
            return None
        context = UserContext(*row)
        self._contexts.put(telegram_id, context)
        return context

    async def view(self, telegram_id: int) -> ProfileView | None:
        """The profile of a registered user."""
        async with self._session_factory() as session:
            user = await UserRepository(session).get_by_telegram_id(telegram_id)
        return None if user is None else ProfileView(user.first_name, user.email, user.language)

    async def set_email(self, telegram_id: int, email: str) -> EmailOutcome:
        """Validate and save; an address another account uses (any letter case) is refused."""
        address = email.strip()
        if len(address) > MAX_EMAIL_LENGTH or not _EMAIL.match(address):
            return EmailOutcome.INVALID
        try:
            async with self._session_factory() as session, session.begin():
                await UserRepository(session).set_fields(telegram_id, email=address)
        except IntegrityError:
            return EmailOutcome.TAKEN
        return EmailOutcome.SAVED

    async def set_language(self, telegram_id: int, language: Language) -> None:
        """Remember the language the user chose."""
        async with self._session_factory() as session, session.begin():
            await UserRepository(session).set_fields(telegram_id, language=language)
        self._contexts.forget(telegram_id)

    async def mark_blocked(self, telegram_id: int, blocked: bool = True) -> None:
        """The user blocked the bot (Telegram said 403): stop sending them anything."""
        async with self._session_factory() as session, session.begin():
            await UserRepository(session).set_fields(telegram_id, is_blocked=blocked)
        self._contexts.forget(telegram_id)
