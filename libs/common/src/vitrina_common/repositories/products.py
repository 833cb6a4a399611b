"""Products and their render state."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from vitrina_common.db.models import Product, ProductStatus


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
