"""Categories: by title for uploads, in shop order for the admin."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import ScalarSelect, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from vitrina_common.db.models import Category, Product


class CategoryLine(NamedTuple):
    """A category with how many products (of any status) it holds."""

    id: int
    title: str
    position: int
    products: int


# The shop's order: the admin's positions, ties in creation order.
SHOP_ORDER = (Category.position, Category.id)


def _next_position() -> ScalarSelect[int]:
    # After the last one: a new category never jumps ahead of the admin's order.
    return select(func.coalesce(func.max(Category.position) + 1, 0)).scalar_subquery()


class CategoryRepository:
    """Reads and writes ``categories`` inside the caller's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get_or_create(self, title: str) -> Category:
        """The category named ``title``, created at the end of the list if new."""
        await self._session.execute(
            insert(Category)
            .values(title=title, position=_next_position())
            .on_conflict_do_nothing(index_elements=["title"])
        )
        result = await self._session.execute(select(Category).where(Category.title == title))
        return result.scalar_one()

    async def add_last(self, title: str) -> Category | None:
        """A new category at the end of the list; None when the title is taken."""
        result = await self._session.execute(
            insert(Category)
            .values(title=title, position=_next_position())
            .on_conflict_do_nothing(index_elements=["title"])
            .returning(Category)
        )
        return result.scalar_one_or_none()

    async def get(self, category_id: int) -> Category | None:
        """The category with this id, if any."""
        return await self._session.get(Category, category_id)

    async def get_for_update(self, category_id: int) -> Category | None:
        """The category with its row locked until the transaction ends."""
        result = await self._session.execute(
            select(Category).where(Category.id == category_id).with_for_update()
        )
        return result.scalar_one_or_none()

    async def title_taken(self, title: str, other_than: int) -> bool:
        """Whether another category already has exactly this title (case counts)."""
        found = await self._session.scalar(
            select(Category.id).where(Category.title == title, Category.id != other_than)
        )
        return found is not None

    async def lines(self) -> list[CategoryLine]:
        """Every category in shop order with its product count."""
        count = func.count(Product.id)
        rows = await self._session.execute(
            select(Category.id, Category.title, Category.position, count)
            .outerjoin(Product, Product.category_id == Category.id)
            .group_by(Category.id)
            .order_by(*SHOP_ORDER)
        )
        return [CategoryLine(int(a), str(b), int(c), int(d)) for a, b, c, d in rows]

    async def ids_in_order_for_update(self) -> list[int]:
        """Every category id in shop order, all rows locked (reorders queue up)."""
        rows = await self._session.scalars(
            select(Category.id).order_by(*SHOP_ORDER).with_for_update()
        )
        return list(rows)

    async def set_position(self, category_id: int, position: int) -> None:
        """Put a category at ``position``."""
        await self._session.execute(
            update(Category)
            .where(Category.id == category_id, Category.position != position)
            .values(position=position)
            .execution_options(synchronize_session=False)
        )

    async def product_count(self, category_id: int) -> int:
        """Products (any status) in the category."""
        count = await self._session.scalar(
            select(func.count()).select_from(Product).where(Product.category_id == category_id)
        )
        return int(count or 0)

    async def delete(self, category_id: int) -> None:
        """Delete the row (the caller checked it holds no products)."""
        await self._session.execute(delete(Category).where(Category.id == category_id))
