"""Refused charges: payments the shop gives back instead of delivering (``refused_charges``)."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from vitrina_common.db.models import Language, Product, RefusedCharge, User


class RefundDue(NamedTuple):
    """A refused charge with what its refund and its notices need."""

    charge: RefusedCharge
    # The product's title, None when the payment named no known order.
    title: str | None
    # The payer's language, English when the payer is not a known user.
    language: Language


class RefusedChargeRepository:
    """Reads and writes ``refused_charges`` inside the caller's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add_once(self, charge: RefusedCharge) -> int | None:
        """Record the refusal; None when this charge id is recorded already."""
        result = await self._session.execute(
            insert(RefusedCharge)
            .values(
                telegram_payment_charge_id=charge.telegram_payment_charge_id,
                telegram_user_id=charge.telegram_user_id,
                order_id=charge.order_id,
                product_id=charge.product_id,
                amount=charge.amount,
                currency=charge.currency,
                reason=charge.reason,
            )
            .on_conflict_do_nothing(index_elements=["telegram_payment_charge_id"])
            .returning(RefusedCharge.id)
        )
        return result.scalar_one_or_none()

    async def by_charge_id(self, charge_id: str) -> RefusedCharge | None:
        """The refusal recorded for this Telegram charge, if any."""
        return await self._session.scalar(
            select(RefusedCharge).where(RefusedCharge.telegram_payment_charge_id == charge_id)
        )

    async def refund_due(self, refused_id: int, *, lock: bool = False) -> RefundDue | None:
        """The refusal with its product's title and payer's language."""
        statement = (
            select(RefusedCharge, Product.title, User.language)
            .outerjoin(Product, Product.id == RefusedCharge.product_id)
            .outerjoin(User, User.telegram_id == RefusedCharge.telegram_user_id)
            .where(RefusedCharge.id == refused_id)
        )
        if lock:
            statement = statement.with_for_update(of=RefusedCharge)
        row = (await self._session.execute(statement)).one_or_none()
        if row is None:
            return None
        charge, title, language = row
        return RefundDue(charge, title, language or Language.EN)

    async def mark_refunded(self, refused_id: int) -> bool:
        """Telegram gave the Stars back; False when that was recorded already."""
        result = await self._session.execute(
            update(RefusedCharge)
            .where(RefusedCharge.id == refused_id, RefusedCharge.refunded_at.is_(None))
            .values(refunded_at=func.now())
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]
