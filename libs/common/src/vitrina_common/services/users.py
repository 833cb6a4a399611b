"""Use cases about shoppers' accounts."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.db.models import Language
from vitrina_common.repositories.users import UserRepository


def language_from_telegram(language_code: str | None) -> Language:
    """Russian for ``ru``/``ru-RU`` clients, English for everyone else."""
    if language_code and language_code.lower().split("-")[0] == Language.RU.value:
        return Language.RU
    return Language.EN


@dataclass(frozen=True)
class RegisteredUser:
    """What the bot needs to know after /start."""

    id: int
    telegram_id: int
    language: Language
    is_new: bool


class RegisterUser:
    """/start: create the account on first contact, refresh the Telegram profile after."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory

    async def __call__(
        self,
        telegram_id: int,
        username: str | None,
        first_name: str | None,
        language_code: str | None,
    ) -> RegisteredUser:
        """Upsert the user in one transaction and say whether they are new."""
        async with self._session_factory() as session, session.begin():
            users = UserRepository(session)
            existing = await users.get_by_telegram_id(telegram_id)
            user = await users.upsert_from_telegram(
                telegram_id, username, first_name, language_from_telegram(language_code)
            )
            return RegisteredUser(
                id=user.id,
                telegram_id=user.telegram_id,
                language=user.language,
                is_new=existing is None,
            )
