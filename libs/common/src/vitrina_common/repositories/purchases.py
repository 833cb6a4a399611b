"""Purchases: one per Telegram charge; what a shopper owns and can download."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import exists, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from vitrina_common.db.models import Language, Product, Purchase, PurchaseStatus, User


class Sales(NamedTuple):
    """Paid copies of one product: in total, and whether one shopper holds one."""

    sold: int
    owned: bool


class PurchaseLine(NamedTuple):
    """One row of a shopper's purchase list."""

    purchase_id: int
    product_id: int
    title: str
    price_stars: int
    purchased_at: datetime


class PurchasedOriginal(NamedTuple):
    """A paid purchase with where its original lives and whom it belongs to."""

    purchase_id: int
    owner_telegram_id: int
    product_id: int
    title: str
    original_file_id: str | None
    original_key: str
    original_mime: str
    original_size: int


class RefundRow(NamedTuple):
    """A purchase with what a refund needs."""

    purchase: Purchase
    owner_telegram_id: int
    owner_language: Language
    title: str


# Column lists in the field order of the named tuples they fill.
_LINE_COLUMNS = (
    Purchase.id,
    Purchase.product_id,
    Product.title,
    Purchase.price_stars,
    Purchase.created_at,
)
_ORIGINAL_COLUMNS = (
    Purchase.id,
    User.telegram_id,
    Product.id,
    Product.title,
    Product.original_file_id,
    Product.original_key,
    Product.original_mime,
    Product.original_size,
)
# Paid purchases with their owner and original; callers narrow it with .where().
_PAID_ORIGINALS = (
    select(*_ORIGINAL_COLUMNS)
    .join(User, User.id == Purchase.user_id)
    .join(Product, Product.id == Purchase.product_id)
    .where(Purchase.status == PurchaseStatus.PAID)
)


class PurchaseRepository:
    """Reads and writes ``purchases`` inside the caller's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def sales(self, product_id: int, user_id: int) -> Sales:
        """Paid copies of ``product_id``, and whether ``user_id`` has one (one indexed scan)."""
        row = (
            await self._session.execute(
                select(func.count(), func.count().filter(Purchase.user_id == user_id)).where(
                    Purchase.product_id == product_id, Purchase.status == PurchaseStatus.PAID
                )
            )
        ).one()
        return Sales(sold=row[0], owned=row[1] > 0)

    async def add_once(
        self, order_id: int, user_id: int, product_id: int, price_stars: int, charge_id: str
    ) -> int | None:
        """Insert a paid purchase; None when this charge id is already recorded."""
        result = await self._session.execute(
            insert(Purchase)
            .values(
                order_id=order_id,
                user_id=user_id,
                product_id=product_id,
                price_stars=price_stars,
                telegram_payment_charge_id=charge_id,
            )
            .on_conflict_do_nothing(index_elements=["telegram_payment_charge_id"])
            .returning(Purchase.id)
        )
        return result.scalar_one_or_none()

    async def by_charge_id(self, charge_id: str) -> Purchase | None:
        """The purchase recorded for this Telegram charge, if any."""
        result = await self._session.execute(
            select(Purchase).where(Purchase.telegram_payment_charge_id == charge_id)
        )
        return result.scalar_one_or_none()

    async def exists_for_order(self, order_id: int) -> bool:
        """Whether a charge is already attached to this order."""
        query = exists().where(Purchase.order_id == order_id).select()
        return bool(await self._session.scalar(query))

    async def for_refund(self, purchase_id: int, *, lock: bool = False) -> RefundRow | None:
        """The purchase (any status) with its owner and title; ``lock`` holds the purchase row."""
        statement = (
            select(Purchase, User.telegram_id, User.language, Product.title)
            .join(User, User.id == Purchase.user_id)
            .join(Product, Product.id == Purchase.product_id)
            .where(Purchase.id == purchase_id)
        )
        if lock:
            statement = statement.with_for_update(of=Purchase)
        row = (await self._session.execute(statement)).one_or_none()
        return None if row is None else RefundRow(*row)

    async def mark_refunded(self, purchase_id: int) -> bool:
        """Paid → refunded; False when it was refunded already."""
        result = await self._session.execute(
            update(Purchase)
            .where(Purchase.id == purchase_id, Purchase.status == PurchaseStatus.PAID)
            .values(status=PurchaseStatus.REFUNDED, refunded_at=func.now())
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def page_for_user(self, telegram_id: int, offset: int, limit: int) -> list[PurchaseLine]:
        """The shopper's paid purchases, newest first."""
        rows = await self._session.execute(
            select(*_LINE_COLUMNS)
            .join(User, User.id == Purchase.user_id)
            .join(Product, Product.id == Purchase.product_id)
            .where(User.telegram_id == telegram_id, Purchase.status == PurchaseStatus.PAID)
            # id breaks ties between purchases committed in the same instant.
            .order_by(Purchase.created_at.desc(), Purchase.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return [PurchaseLine(*row) for row in rows]

    async def count_for_user(self, telegram_id: int) -> int:
        """How many paid purchases the shopper has."""
        count = await self._session.scalar(
            select(func.count())
            .select_from(Purchase)
            .join(User, User.id == Purchase.user_id)
            .where(User.telegram_id == telegram_id, Purchase.status == PurchaseStatus.PAID)
        )
        return count or 0

    async def paid_original(self, purchase_id: int) -> PurchasedOriginal | None:
        """The original behind a paid (not refunded) purchase, with its owner's Telegram id."""
        row = (
            await self._session.execute(_PAID_ORIGINALS.where(Purchase.id == purchase_id))
        ).one_or_none()
        return None if row is None else PurchasedOriginal(*row)

    async def latest_paid_original(
        self, telegram_id: int, product_id: int
    ) -> PurchasedOriginal | None:
        """The shopper's newest paid purchase of the product, with its original."""
        row = (
            await self._session.execute(
                _PAID_ORIGINALS.where(
                    User.telegram_id == telegram_id, Purchase.product_id == product_id
                )
                .order_by(Purchase.id.desc())
                .limit(1)
            )
        ).one_or_none()
        return None if row is None else PurchasedOriginal(*row)

    async def owns(self, telegram_id: int, product_id: int) -> bool:
        """Whether the shopper holds a paid copy of the product."""
        query = (
            exists()
            .where(
                Purchase.user_id == User.id,
                User.telegram_id == telegram_id,
                Purchase.product_id == product_id,
                Purchase.status == PurchaseStatus.PAID,
            )
            .select()
        )
        return bool(await self._session.scalar(query))

    async def cache_original_file_id(self, product_id: int, file_id: str) -> bool:
        """Remember Telegram's file_id of a product's original unless one is known already.

        An UPDATE of ``products`` living here because only delivery after a purchase needs it.
        """
        result = await self._session.execute(
            update(Product)
            .where(Product.id == product_id, Product.original_file_id.is_(None))
            .values(original_file_id=file_id)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def forget_original_file_id(self, product_id: int, file_id: str) -> bool:
        """Clear the cached file_id of a product's original if it is still ``file_id``."""
        result = await self._session.execute(
            update(Product)
            .where(Product.id == product_id, Product.original_file_id == file_id)
            .values(original_file_id=None)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]
