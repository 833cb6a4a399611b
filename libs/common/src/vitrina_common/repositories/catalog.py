"""Read queries of the storefront: only ``ready`` products are ever shown to shoppers."""

from __future__ import annotations

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from vitrina_common.db.models import Category, Product, ProductStatus


def escape_like(text: str) -> str:
    """``text`` with LIKE's wildcards escaped, to match literally inside a pattern."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class CatalogRepository:
    """Category lists, product pages and search, each a LIMIT/OFFSET query on an index."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def categories_with_products(self) -> list[tuple[int, str, int]]:
        """(id, title, ready product count) of categories that have something to show."""
        count = func.count(Product.id)
        rows = await self._session.execute(
            select(Category.id, Category.title, count)
            .join(Product, Product.category_id == Category.id)
            .where(Product.status == ProductStatus.READY)
            .group_by(Category.id)
            # The admin's order (categories.position); id keeps ties in creation order.
            .order_by(Category.position, Category.id)
        )
        return [(int(id_), str(title), int(total)) for id_, title, total in rows]

    async def rows(
        self, query: Select[int, str, int], offset: int, limit: int
    ) -> list[tuple[int, str, int]]:
        """One page of (id, title, price) rows, in id order (an index scan with a limit)."""
        result = await self._session.execute(query.order_by(Product.id).offset(offset).limit(limit))
        return [(int(row[0]), str(row[1]), int(row[2])) for row in result]

    async def page(
        self, query: Select[int, str, int], offset: int, limit: int
    ) -> tuple[list[tuple[int, str, int]], int]:
        """One page of (id, title, price) rows and the total count of the query.

        One round trip for both: the window count rides along with the page rows. Only a
        page past the end (no rows to carry it) costs a second, counting query.
        """
        rows = (
            await self._session.execute(
                query.add_columns(func.count().over())
                .order_by(Product.id)
                .offset(offset)
                .limit(limit)
            )
        ).all()
        if rows:
            total = int(rows[0][3])
        else:
            counted = await self._session.scalar(select(func.count()).select_from(query.subquery()))
            total = int(counted or 0)
        return [(int(row[0]), str(row[1]), int(row[2])) for row in rows], total

    @staticmethod
    def in_category(category_id: int) -> Select[int, str, int]:
        """Ready products of one category (served by ix_products_category_id_status_id)."""
        return select(Product.id, Product.title, Product.price_stars).where(
            Product.category_id == category_id, Product.status == ProductStatus.READY
        )

    @staticmethod
    def matching(text: str) -> Select[int, str, int]:
        """Ready products whose title or description contains ``text`` (trigram indexes)."""
        pattern = f"%{escape_like(text)}%"
        return select(Product.id, Product.title, Product.price_stars).where(
            Product.status == ProductStatus.READY,
            or_(Product.title.ilike(pattern), Product.description.ilike(pattern)),
        )

    async def ready_product(self, product_id: int) -> Product | None:
        """The product if shoppers may see it."""
        product = await self._session.get(Product, product_id)
        return product if product is not None and product.status is ProductStatus.READY else None
