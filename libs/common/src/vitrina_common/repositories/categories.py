"""Categories by title."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from vitrina_common.db.models import Category


class CategoryRepository:
    """Reads and writes ``categories`` inside the caller's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get_or_create(self, title: str) -> Category:
        """The category named ``title``, created at the end of the list if new."""
        await self._session.execute(
            insert(Category).values(title=title).on_conflict_do_nothing(index_elements=["title"])
        )
        result = await self._session.execute(select(Category).where(Category.title == title))
        return result.scalar_one()
