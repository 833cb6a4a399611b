"""Use cases of a shopper's profile: email and language."""

from __future__ import annotations

import re
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


class Profiles:
    """Reads and changes a user's profile; each change is one transaction."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory

    async def context(self, telegram_id: int) -> UserContext | None:
        """Language and status of a registered user, None before their first /start."""
        async with self._session_factory() as session:
            row = await UserRepository(session).context(telegram_id)
        return None if row is None else UserContext(*row)

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

    async def mark_blocked(self, telegram_id: int, blocked: bool = True) -> None:
        """The user blocked the bot (Telegram said 403): stop sending them anything."""
        async with self._session_factory() as session, session.begin():
            await UserRepository(session).set_fields(telegram_id, is_blocked=blocked)
