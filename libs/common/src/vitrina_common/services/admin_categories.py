"""Use cases of the shop admin's category screens: list, create, rename, reorder, delete.

The shop lists categories by ``position`` (then id); moving one swaps it with its
neighbour after numbering all of them 0…n-1 in their current order, so positions left
equal by uploads (each new category goes last) become a strict order on the first move.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.repositories.categories import CategoryLine, CategoryRepository
from vitrina_common.text_limits import MAX_CATEGORY_CHARS

SessionFactory = async_sessionmaker[AsyncSession]


class CategoryRefusal(StrEnum):
    """Why an admin's change to the categories was not made."""

    NOT_FOUND = "not_found"
    TITLE = "title"
    TAKEN = "taken"
    FIRST = "first"
    LAST = "last"


@dataclass(frozen=True)
class NotEmpty:
    """The category cannot be deleted while it holds products."""

    products: int


@dataclass(frozen=True)
class CategoryCard:
    """One category as the admin sees it: where it stands and what it holds."""

    id: int
    title: str
    # 1-based place in the shop's list, of ``of``.
    place: int
    of: int
    products: int


def _clean_title(text: str) -> str | None:
    title = text.strip()
    return title if title and len(title) <= MAX_CATEGORY_CHARS and "\n" not in title else None


class AdminCategories:
    """Categories in shop order and the admin's changes to them, one transaction each."""

    def __init__(self, session_factory: SessionFactory) -> None:
        self._session_factory = session_factory

    async def lines(self) -> list[CategoryLine]:
        """Every category in shop order with its product count (any status)."""
        async with self._session_factory() as session:
            return await CategoryRepository(session).lines()

    async def card(self, category_id: int) -> CategoryCard | None:
        """The category with its place in the list, None when there is no such category."""
        lines = await self.lines()
        for place, line in enumerate(lines, start=1):
            if line.id == category_id:
                return CategoryCard(line.id, line.title, place, len(lines), line.products)
        return None

    async def create(self, text: str) -> int | CategoryRefusal:
        """A new category at the end of the list; its id, or why not.

        Titles are unique exactly as typed ("Birds" and "birds" are two categories).
        """
        title = _clean_title(text)
        if title is None:
            return CategoryRefusal.TITLE
        async with self._session_factory() as session, session.begin():
            category = await CategoryRepository(session).add_last(title)
            return CategoryRefusal.TAKEN if category is None else category.id

    async def rename(self, category_id: int, text: str) -> CategoryRefusal | None:
        """A new title, unique like a new category's; None when saved."""
        title = _clean_title(text)
        if title is None:
            return CategoryRefusal.TITLE
        try:
            async with self._session_factory() as session, session.begin():
                categories = CategoryRepository(session)
                category = await categories.get_for_update(category_id)
                if category is None:
                    return CategoryRefusal.NOT_FOUND
                if await categories.title_taken(title, other_than=category_id):
                    return CategoryRefusal.TAKEN
                category.title = title
        except IntegrityError:
            # Another admin took the title between our check and our commit.
            return CategoryRefusal.TAKEN
        return None

    async def move(self, category_id: int, step: int) -> CategoryRefusal | None:
        """Move one place up (``step=-1``) or down (``+1``) in the shop; None when moved."""
        async with self._session_factory() as session, session.begin():
            categories = CategoryRepository(session)
            order = await categories.ids_in_order_for_update()
            if category_id not in order:
                return CategoryRefusal.NOT_FOUND
            index = order.index(category_id)
            target = index + (1 if step > 0 else -1)
            if target < 0:
                return CategoryRefusal.FIRST
            if target >= len(order):
                return CategoryRefusal.LAST
            order[index], order[target] = order[target], order[index]
            for position, moved_id in enumerate(order):
                await categories.set_position(moved_id, position)
        return None

    async def delete(self, category_id: int) -> NotEmpty | CategoryRefusal | None:
        """Delete an empty category; None when deleted.

        The row lock makes a product being added to it either commit first (and be
        counted) or wait and then fail on the missing category.
        """
        async with self._session_factory() as session, session.begin():
            categories = CategoryRepository(session)
            if await categories.get_for_update(category_id) is None:
                return CategoryRefusal.NOT_FOUND
            products = await categories.product_count(category_id)
            if products:
                return NotEmpty(products)
            await categories.delete(category_id)
        return None

    async def deletion_blocker(self, category_id: int) -> NotEmpty | CategoryRefusal | None:
        """Why the category could not be deleted now, if anything (asked before confirming)."""
        card = await self.card(category_id)
        if card is None:
            return CategoryRefusal.NOT_FOUND
        return NotEmpty(card.products) if card.products else None
