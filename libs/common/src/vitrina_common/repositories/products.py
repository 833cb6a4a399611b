"""Products and their render state."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import ColumnElement, delete, func, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from vitrina_common.db.models import (
    Category,
    Order,
    Product,
    ProductStatus,
    Purchase,
    PurchaseStatus,
)
from vitrina_common.ids import parse_id
from vitrina_common.repositories.catalog import escape_like


class ProductLine(NamedTuple):
    """One row of the admin's product list."""

    id: int
    title: str
    price_stars: int
    status: ProductStatus


class References(NamedTuple):
    """What points at a product (FK RESTRICT): any of it forbids deleting the product."""

    purchases: int
    paid_purchases: int
    orders: int


class ProductRepository:
    """Reads and writes ``products`` inside the caller's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, product: Product) -> Product:
        """Insert ``product`` and load its generated id."""
        self._session.add(product)
        await self._session.flush()
        return product

    async def get(self, product_id: int) -> Product | None:
        """The product with this id, if any."""
        return await self._session.get(Product, product_id)

    async def mark_preview_ready(
        self, product_id: int, original_sha256: str, preview_key: str
    ) -> bool:
        """Rendering → ready for this exact original; False when nothing changed.

        The guards make a second delivery of the same job, or a stale job for a replaced
        original, a no-op.
        """
        result = await self._session.execute(
            update(Product)
            .where(
                Product.id == product_id,
                Product.original_sha256 == original_sha256,
                Product.status == ProductStatus.RENDERING,
            )
            .values(status=ProductStatus.READY, preview_key=preview_key, failure_reason=None)
            # No ORM objects to refresh in these short sessions: skip the evaluation pass.
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def mark_preview_failed(self, product_id: int, original_sha256: str, reason: str) -> bool:
        """Rendering → failed with a reason an admin can read; False when nothing changed."""
        result = await self._session.execute(
            update(Product)
            .where(
                Product.id == product_id,
                Product.original_sha256 == original_sha256,
                Product.status == ProductStatus.RENDERING,
            )
            .values(status=ProductStatus.FAILED, failure_reason=reason)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def cache_preview_file_id(self, product_id: int, preview_key: str, file_id: str) -> None:
        """Remember Telegram's file_id of this preview (only if it is still the current one)."""
        await self._session.execute(
            update(Product)
            .where(Product.id == product_id, Product.preview_key == preview_key)
            .values(preview_file_id=file_id)
            .execution_options(synchronize_session=False)
        )

    async def get_for_update(self, product_id: int) -> Product | None:
        """The product with its row locked until the transaction ends (edits and sales of a
        limited edition queue up), read afresh even if the session holds it already."""
        result = await self._session.execute(
            select(Product)
            .where(Product.id == product_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return result.scalar_one_or_none()

    async def with_category_title(self, product_id: int) -> tuple[Product, str] | None:
        """The product (any status) and its category's title."""
        row = (
            await self._session.execute(
                select(Product, Category.title)
                .join(Category, Category.id == Product.category_id)
                .where(Product.id == product_id)
            )
        ).one_or_none()
        return None if row is None else (row[0], str(row[1]))

    async def admin_page(
        self, status: ProductStatus | None, search: str, offset: int, limit: int
    ) -> tuple[list[ProductLine], int]:
        """Products of every status (or one), newest first, and how many match in all.

        ``search`` matches the title (trigram index) or, as ``#12`` / ``12``, the id.
        """
        condition = _admin_filter(status, search)
        total = await self._session.scalar(select(func.count(Product.id)).where(condition))
        rows = await self._session.execute(
            select(Product.id, Product.title, Product.price_stars, Product.status)
            .where(condition)
            .order_by(Product.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return [ProductLine(*row) for row in rows], int(total or 0)

    async def references(self, product_id: int) -> References:
        """Purchases (any status, and paid ones) and orders of the product."""
        purchases = (
            await self._session.execute(
                select(
                    func.count(),
                    func.count().filter(Purchase.status == PurchaseStatus.PAID),
                ).where(Purchase.product_id == product_id)
            )
        ).one()
        orders = await self._session.scalar(
            select(func.count()).select_from(Order).where(Order.product_id == product_id)
        )
        return References(int(purchases[0]), int(purchases[1]), int(orders or 0))

    async def start_rerender(self, product: Product) -> datetime:
        """Back to ``rendering`` with the preview's file_id forgotten; returns the database
        time of the change (the caller's revision)."""
        result = await self._session.execute(
            update(Product)
            .where(Product.id == product.id)
            .values(status=ProductStatus.RENDERING, preview_file_id=None, failure_reason=None)
            .returning(Product.updated_at)
            .execution_options(synchronize_session=False)
        )
        return result.scalar_one()

    async def delete(self, product_id: int) -> None:
        """Delete the row (the caller checked nothing references it)."""
        await self._session.execute(delete(Product).where(Product.id == product_id))


def _admin_filter(status: ProductStatus | None, search: str) -> ColumnElement[bool]:
    condition: ColumnElement[bool] = true() if status is None else Product.status == status
    text = search.strip()
    if not text:
        return condition
    matches: ColumnElement[bool] = Product.title.ilike(f"%{escape_like(text)}%")
    if (product_id := parse_id(text.removeprefix("#"))) is not None:
        matches = or_(Product.id == product_id, matches)
    return condition & matches
