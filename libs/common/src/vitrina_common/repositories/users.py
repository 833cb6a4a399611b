"""Users by Telegram id, and the admin's search over them."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import ColumnElement, false, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from vitrina_common.db.models import Language, User


class UserMatch(NamedTuple):
    """What an admin looks for; the fields given are alternatives (any may match)."""

    telegram_id: int | None = None
    # A part of the username, any letter case.
    username: str | None = None
    # A part of the address, any letter case.
    email: str | None = None


class UserLine(NamedTuple):
    """One user in search results."""

    telegram_id: int
    username: str | None
    first_name: str | None
    email: str | None
    is_banned: bool


def _matching(match: UserMatch) -> ColumnElement[bool]:
    conditions: list[ColumnElement[bool]] = []
    if match.telegram_id is not None:
        conditions.append(User.telegram_id == match.telegram_id)
    if match.username:
        conditions.append(User.username.icontains(match.username, autoescape=True))
    if match.email:
        conditions.append(User.email.icontains(match.email, autoescape=True))
    return or_(false(), *conditions)


def _exact(match: UserMatch) -> ColumnElement[bool]:
    # Whole-value hits sort first: "@ann" lists ann before joanna.
    conditions: list[ColumnElement[bool]] = []
    if match.telegram_id is not None:
        conditions.append(User.telegram_id == match.telegram_id)
    if match.username:
        conditions.append(func.lower(User.username) == match.username.lower())
    if match.email:
        conditions.append(User.email == match.email)  # CITEXT compares without case
    return func.coalesce(or_(false(), *conditions), false())


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
        """Change columns (email, language, is_blocked, is_banned, admin_comment) of one user."""
        await self._session.execute(
            update(User)
            .where(User.telegram_id == telegram_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )

    async def search(self, match: UserMatch, offset: int, limit: int) -> tuple[list[UserLine], int]:
        """One page of users matching ``match`` (exact hits first, then newest) and the total.

        Substring matches scan the table: fine for an admin's occasional search.
        """
        condition = _matching(match)
        total = await self._session.scalar(select(func.count()).select_from(User).where(condition))
        rows = await self._session.execute(
            select(User.telegram_id, User.username, User.first_name, User.email, User.is_banned)
            .where(condition)
            .order_by(_exact(match).desc(), User.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return [UserLine(*row) for row in rows], int(total or 0)
