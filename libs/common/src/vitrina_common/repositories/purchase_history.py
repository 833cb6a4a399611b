"""Purchases as the shop admin sees them: every status, with totals per buyer."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from vitrina_common.db.models import Product, Purchase, PurchaseStatus, User


class PurchaseTotals(NamedTuple):
    """A buyer's paid purchases, the Stars they still pay for, and refunds."""

    paid: int
    stars_spent: int
    refunded: int


class HistoryLine(NamedTuple):
    """One purchase of a buyer, paid or refunded."""

    purchase_id: int
    title: str
    price_stars: int
    status: PurchaseStatus
    purchased_at: datetime


class PurchaseDetails(NamedTuple):
    """One purchase with its product and buyer."""

    purchase_id: int
    product_id: int
    title: str
    price_stars: int
    status: PurchaseStatus
    purchased_at: datetime
    refunded_at: datetime | None
    charge_id: str
    buyer_telegram_id: int
    buyer_first_name: str | None
    buyer_username: str | None


_PAID = Purchase.status == PurchaseStatus.PAID


class PurchaseHistoryRepository:
    """Reads ``purchases`` of any status inside the caller's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def totals_for_user(self, telegram_id: int) -> PurchaseTotals:
        """Counts and the Stars sum of one buyer, in one aggregate query."""
        row = (
            await self._session.execute(
                select(
                    func.count().filter(_PAID),
                    func.coalesce(func.sum(Purchase.price_stars).filter(_PAID), 0),
                    func.count().filter(Purchase.status == PurchaseStatus.REFUNDED),
                )
                .select_from(Purchase)
                .join(User, User.id == Purchase.user_id)
                .where(User.telegram_id == telegram_id)
            )
        ).one()
        return PurchaseTotals(int(row[0]), int(row[1]), int(row[2]))

    async def page_for_user(
        self, telegram_id: int, offset: int, limit: int
    ) -> tuple[list[HistoryLine], int]:
        """One page of the buyer's purchases of any status, newest first, and the total."""
        of_buyer = User.telegram_id == telegram_id
        total = await self._session.scalar(
            select(func.count())
            .select_from(Purchase)
            .join(User, User.id == Purchase.user_id)
            .where(of_buyer)
        )
        rows = await self._session.execute(
            select(
                Purchase.id,
                Product.title,
                Purchase.price_stars,
                Purchase.status,
                Purchase.created_at,
            )
            .join(User, User.id == Purchase.user_id)
            .join(Product, Product.id == Purchase.product_id)
            .where(of_buyer)
            # id breaks ties between purchases committed in the same instant.
            .order_by(Purchase.created_at.desc(), Purchase.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return [HistoryLine(*row) for row in rows], int(total or 0)

    async def details(self, purchase_id: int) -> PurchaseDetails | None:
        """The purchase with its product title and buyer, any status."""
        row = (
            await self._session.execute(
                select(
                    Purchase.id,
                    Purchase.product_id,
                    Product.title,
                    Purchase.price_stars,
                    Purchase.status,
                    Purchase.created_at,
                    Purchase.refunded_at,
                    Purchase.telegram_payment_charge_id,
                    User.telegram_id,
                    User.first_name,
                    User.username,
                )
                .join(User, User.id == Purchase.user_id)
                .join(Product, Product.id == Purchase.product_id)
                .where(Purchase.id == purchase_id)
            )
        ).one_or_none()
        return None if row is None else PurchaseDetails(*row)
