"""Users by Telegram id."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from vitrina_common.db.models import Language, User


class UserRepository:
    """Reads and writes ``users`` inside the caller's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def upsert_from_telegram(
        self,
        telegram_id: int,
        username: str | None,
        first_name: str | None,
        language: Language,
    ) -> User:
        """Insert the user or refresh what Telegram owns (name, username); keeps the language."""
        statement = (
            insert(User)
            .values(
                telegram_id=telegram_id,
                username=username,
                first_name=first_name,
                language=language,
            )
            .on_conflict_do_update(
                index_elements=[User.telegram_id],
                set_={"username": username, "first_name": first_name, "is_blocked": False},
            )
            .returning(User)
        )
        result = await self._session.execute(
            statement, execution_options={"populate_existing": True}
        )
        return result.scalar_one()

    async def get_by_telegram_id(self, telegram_id: int) -> User | None:
        """The user with this Telegram id, if they ever started the bot."""
        result = await self._session.execute(select(User).where(User.telegram_id == telegram_id))
        return result.scalar_one_or_none()

    async def context(self, telegram_id: int) -> tuple[int, Language, bool, bool] | None:
        """(id, language, is_blocked, is_banned) of a registered user: the per-update lookup."""
        row = (
            await self._session.execute(
                select(User.id, User.language, User.is_blocked, User.is_banned).where(
                    User.telegram_id == telegram_id
                )
            )
        ).one_or_none()
        return None if row is None else (int(row[0]), row[1], bool(row[2]), bool(row[3]))

    async def set_fields(self, telegram_id: int, **values: object) -> None:
        """Change profile columns (email, language, is_blocked) of one user."""
        await self._session.execute(
            update(User)
            .where(User.telegram_id == telegram_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
