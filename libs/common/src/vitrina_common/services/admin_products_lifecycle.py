"""Use cases that move a product through its life: archive, restore, re-render, delete.

Shoppers see ``ready`` products only, so archiving takes a product out of the shop while
its buyers keep downloading it (purchases point at the product, whatever its status). A
product anything points at (an order or a purchase: FK RESTRICT) is never deleted: the
admin is told to archive it instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.clock import Clock, SystemClock
from vitrina_common.db.models import ProductStatus
from vitrina_common.messaging.contracts import RenderPreviewJob
from vitrina_common.outbox import enqueue_publish
from vitrina_common.repositories.outbox import OutboxRepository
from vitrina_common.repositories.products import ProductRepository
from vitrina_common.services.admin_products import ProductRefusal
from vitrina_common.services.wishlist_notices import tell_wishers_back_on_sale

SessionFactory = async_sessionmaker[AsyncSession]

RESTORED_WITHOUT_PREVIEW = "restored from the archive without a preview: re-render it"
# A render in flight would move the product on by itself: nothing else may touch its status.
_BUSY = frozenset({ProductStatus.RENDERING})


@dataclass(frozen=True)
class DeleteBlocked:
    """The product cannot be deleted: orders or purchases point at it."""

    purchases: int
    orders: int


class ProductLifecycle:
    """Archive, restore, re-render and delete; each one transaction on the locked row."""

    def __init__(self, session_factory: SessionFactory, clock: Clock | None = None) -> None:
        self._session_factory = session_factory
        # Dates the wishers' back-on-sale notices.
        self._clock = clock or SystemClock()

    async def archive(self, product_id: int) -> ProductRefusal | None:
        """Take the product out of the shop; None when done."""
        async with self._session_factory() as session, session.begin():
            product = await ProductRepository(session).get_for_update(product_id)
            if product is None:
                return ProductRefusal.NOT_FOUND
            if product.status in _BUSY:
                return ProductRefusal.RENDERING
            if product.status is ProductStatus.ARCHIVED:
                return ProductRefusal.ARCHIVED
            product.status = ProductStatus.ARCHIVED
        return None

    async def restore(self, product_id: int) -> ProductRefusal | None:
        """Back into the shop (or, without a preview, to ``failed`` to be re-rendered)."""
        async with self._session_factory() as session, session.begin():
            product = await ProductRepository(session).get_for_update(product_id)
            if product is None:
                return ProductRefusal.NOT_FOUND
            if product.status is not ProductStatus.ARCHIVED:
                return ProductRefusal.NOT_ARCHIVED
            if product.preview_key is None:
                product.status = ProductStatus.FAILED
                product.failure_reason = RESTORED_WITHOUT_PREVIEW
            else:
                product.status = ProductStatus.READY
                await tell_wishers_back_on_sale(session, product, self._clock.now())
        return None

    async def rerender(
        self, product_id: int, notify_chat_id: int | None
    ) -> RenderPreviewJob | ProductRefusal:
        """Render the preview again (new watermark, a failure fixed); returns the job.

        The product is ``rendering`` until the worker is done (out of the shop for those
        seconds); its cached preview file_id is forgotten so the new preview is uploaded
        to Telegram. The job goes through the outbox with a new ``render_revision``, so
        neither the outbox nor JetStream's duplicate window mistakes it for the upload's.
        """
        async with self._session_factory() as session, session.begin():
            products = ProductRepository(session)
            product = await products.get_for_update(product_id)
            if product is None:
                return ProductRefusal.NOT_FOUND
            if product.status in _BUSY:
                return ProductRefusal.RENDERING
            if product.status is ProductStatus.ARCHIVED:
                return ProductRefusal.ARCHIVED
            changed_at = await products.start_rerender(product)
            job = RenderPreviewJob(
                product_id=product.id,
                original_sha256=product.original_sha256,
                notify_chat_id=notify_chat_id,
                # The database time of this change: the row lock orders re-renders of one
                # product, so each gets a later number than the one before.
                render_revision=int(changed_at.timestamp() * 1_000_000),
            )
            await enqueue_publish(OutboxRepository(session), job)
        return job

    async def deletion_blocker(self, product_id: int) -> DeleteBlocked | ProductRefusal | None:
        """Why the product could not be deleted now, if anything (asked before confirming)."""
        async with self._session_factory() as session:
            products = ProductRepository(session)
            if await products.get(product_id) is None:
                return ProductRefusal.NOT_FOUND
            return _blocked(await products.references(product_id))

    async def delete(self, product_id: int) -> DeleteBlocked | ProductRefusal | None:
        """Delete a product nothing was ever ordered or bought of; None when deleted.

        The row lock comes first: an order being inserted for the product holds a key-share
        lock, so the count below sees it once it is committed, and a later one waits for
        this transaction and then finds the product gone.
        """
        async with self._session_factory() as session, session.begin():
            products = ProductRepository(session)
            if await products.get_for_update(product_id) is None:
                return ProductRefusal.NOT_FOUND
            blocked = _blocked(await products.references(product_id))
            if blocked is not None:
                return blocked
            await products.delete(product_id)
        return None


def _blocked(references: tuple[int, int, int]) -> DeleteBlocked | None:
    purchases, _, orders = references
    return DeleteBlocked(purchases, orders) if purchases or orders else None
