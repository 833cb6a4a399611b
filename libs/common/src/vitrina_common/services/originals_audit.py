"""Does the Object Store hold every original the database names? The last step of a restore
drill (README, "Backups and the restore drill"), and a check worth running any time.

The database and the originals are backed up separately (CloudNativePG, ``vitrina-ops
backup-originals``), so after restoring both, a product whose ``original_key`` is not in the
bucket is a purchase that cannot be downloaded again: this finds every one of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.errors import ObjectNotFoundError
from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.db.models import Product, Purchase, PurchaseStatus
from vitrina_common.messaging.topology import ORIGINALS_BUCKET


@dataclass(frozen=True)
class OriginalsAudit:
    """Keys checked, the ones the bucket lacks, and the paid purchases those break."""

    checked: int
    missing: list[str]
    paid_purchases_affected: int

    @property
    def ok(self) -> bool:
        """Every product's original is in the bucket."""
        return not self.missing


async def audit_originals(
    sessions: async_sessionmaker[AsyncSession], js: JetStreamContext
) -> OriginalsAudit:
    """Check every distinct ``products.original_key`` (archived products too: buyers keep
    their downloads) against the ``originals`` bucket."""
    async with sessions() as session:
        query = select(distinct(Product.original_key)).order_by(Product.original_key)
        keys = list(await session.scalars(query))
    store = await js.object_store(ORIGINALS_BUCKET.name)
    missing = []
    for key in keys:
        try:
            await store.get_info(key)
        except ObjectNotFoundError:
            missing.append(key)
    affected = 0
    if missing:
        async with sessions() as session:
            affected = (
                await session.scalar(
                    select(func.count())
                    .select_from(Purchase)
                    .join(Product, Product.id == Purchase.product_id)
                    .where(
                        Product.original_key.in_(missing), Purchase.status == PurchaseStatus.PAID
                    )
                )
                or 0
            )
    return OriginalsAudit(len(keys), missing, affected)
