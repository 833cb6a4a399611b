"""Use cases of a shopper's profile: email and language."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.db.models import Language, User

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
            row = (
                await session.execute(
                    select(User.id, User.language, User.is_blocked).where(
                        User.telegram_id == telegram_id
                    )
                )
            ).one_or_none()
        return None if row is None else UserContext(int(row[0]), row[1], bool(row[2]))

    async def view(self, telegram_id: int) -> ProfileView | None:
        """The profile of a registered user."""
        async with self._session_factory() as session:
            user = await session.scalar(select(User).where(User.telegram_id == telegram_id))
        return None if user is None else ProfileView(user.first_name, user.email, user.language)

    async def set_email(self, telegram_id: int, email: str) -> EmailOutcome:
        """Validate and save; an address another account uses (any letter case) is refused."""
        address = email.strip()
        if len(address) > MAX_EMAIL_LENGTH or not _EMAIL.match(address):
            return EmailOutcome.INVALID
        try:
            async with self._session_factory() as session, session.begin():
                await session.execute(
                    update(User)
                    .where(User.telegram_id == telegram_id)
                    .values(email=address)
                    .execution_options(synchronize_session=False)
                )
        except IntegrityError:
            return EmailOutcome.TAKEN
        return EmailOutcome.SAVED

    async def set_language(self, telegram_id: int, language: Language) -> None:
        """Remember the language the user chose."""
        async with self._session_factory() as session, session.begin():
            await session.execute(
                update(User)
                .where(User.telegram_id == telegram_id)
                .values(language=language)
                .execution_options(synchronize_session=False)
            )

    async def mark_blocked(self, telegram_id: int, blocked: bool = True) -> None:
        """The user blocked the bot (Telegram said 403): stop sending them anything."""
        async with self._session_factory() as session, session.begin():
            await session.execute(
                update(User)
                .where(User.telegram_id == telegram_id)
                .values(is_blocked=blocked)
                .execution_options(synchronize_session=False)
            )
