"""Waitlist entries: who waits for a copy of a sold-out edition, in order."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from vitrina_common.db.models import User, WaitlistEntry


class WaitingLine(NamedTuple):
    """One shopper in a product's line, as the admin sees it (1-based ``position``)."""

    entry_id: int
    position: int
    user_id: int
    telegram_id: int
    username: str | None
    first_name: str | None
    joined_at: datetime


class WaitlistRepository:
    """Reads and writes ``waitlist_entries`` inside the caller's transaction.

    Writes that change the order of a line are made under the product's row lock (the
    callers take it), so keys and positions never race.
    """

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def join(self, product_id: int, user_id: int) -> bool:
        """Put the shopper at the end of the line; False when they are in it already."""
        next_key = (
            select(func.coalesce(func.max(WaitlistEntry.queue_key), 0) + 1)
            .where(WaitlistEntry.product_id == product_id)
            .scalar_subquery()
        )
        result = await self._session.execute(
            insert(WaitlistEntry)
            .values(product_id=product_id, user_id=user_id, queue_key=next_key)
            .on_conflict_do_nothing(index_elements=["product_id", "user_id"])
            .returning(WaitlistEntry.id)
        )
        return result.scalar_one_or_none() is not None

    async def leave(self, product_id: int, user_id: int) -> bool:
        """Take the shopper out of the line; False when they were not in it."""
        result = await self._session.execute(
            delete(WaitlistEntry)
            .where(WaitlistEntry.product_id == product_id, WaitlistEntry.user_id == user_id)
            .returning(WaitlistEntry.id)
        )
        return result.scalar_one_or_none() is not None

    async def remove(self, entry_id: int) -> bool:
        """Delete one entry (an admin's removal); False when it is gone already."""
        result = await self._session.execute(
            delete(WaitlistEntry).where(WaitlistEntry.id == entry_id).returning(WaitlistEntry.id)
        )
        return result.scalar_one_or_none() is not None

    async def get(self, entry_id: int) -> WaitlistEntry | None:
        """The entry, read afresh."""
        result = await self._session.execute(
            select(WaitlistEntry)
            .where(WaitlistEntry.id == entry_id)
            .execution_options(populate_existing=True)
        )
        return result.scalar_one_or_none()

    async def first(self, product_id: int) -> WaitlistEntry | None:
        """The next in line, if anyone waits."""
        result = await self._session.execute(
            select(WaitlistEntry)
            .where(WaitlistEntry.product_id == product_id)
            .order_by(WaitlistEntry.queue_key, WaitlistEntry.id)
            .limit(1)
        )
        return result.scalar_one_or_none()

    async def position(self, product_id: int, user_id: int) -> int | None:
        """The shopper's 1-based place in the line; None when they are not in it."""
        mine = (
            select(WaitlistEntry.queue_key, WaitlistEntry.id)
            .where(WaitlistEntry.product_id == product_id, WaitlistEntry.user_id == user_id)
            .subquery()
        )
        ahead = (
            select(func.count())
            .select_from(WaitlistEntry)
            .where(
                WaitlistEntry.product_id == product_id,
                func.row(WaitlistEntry.queue_key, WaitlistEntry.id)
                <= func.row(mine.c.queue_key, mine.c.id),
            )
            .scalar_subquery()
        )
        row = (await self._session.execute(select(mine.c.id, ahead))).one_or_none()
        return None if row is None else int(row[1])

    async def neighbour(self, entry: WaitlistEntry, *, ahead: bool) -> WaitlistEntry | None:
        """The entry just before (``ahead``) or just after ``entry`` in its line."""
        key = func.row(WaitlistEntry.queue_key, WaitlistEntry.id)
        mine = func.row(entry.queue_key, entry.id)
        statement = select(WaitlistEntry).where(WaitlistEntry.product_id == entry.product_id)
        if ahead:
            statement = statement.where(key < mine).order_by(
                WaitlistEntry.queue_key.desc(), WaitlistEntry.id.desc()
            )
        else:
            statement = statement.where(key > mine).order_by(
                WaitlistEntry.queue_key, WaitlistEntry.id
            )
        return (await self._session.execute(statement.limit(1))).scalar_one_or_none()

    async def line(self, product_id: int, offset: int, limit: int) -> tuple[list[WaitingLine], int]:
        """A page of the product's line in order, and how many wait in all."""
        position = func.row_number().over(order_by=(WaitlistEntry.queue_key, WaitlistEntry.id))
        numbered = (
            select(WaitlistEntry, position.label("position"))
            .where(WaitlistEntry.product_id == product_id)
            .subquery()
        )
        rows = await self._session.execute(
            select(
                numbered.c.id,
                numbered.c.position,
                User.id,
                User.telegram_id,
                User.username,
                User.first_name,
                numbered.c.joined_at,
            )
            .join(User, User.id == numbered.c.user_id)
            .order_by(numbered.c.position)
            .offset(offset)
            .limit(limit)
        )
        total = await self._session.scalar(
            select(func.count()).where(WaitlistEntry.product_id == product_id)
        )
        return [WaitingLine(*row) for row in rows], total or 0
