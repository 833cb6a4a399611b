"""What shoppers bought and how their originals reach them (read side of checkout)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.repositories.purchases import PurchasedOriginal, PurchaseRepository

SessionFactory = async_sessionmaker[AsyncSession]


@dataclass(frozen=True)
class PurchaseItem:
    """One line of "My purchases"."""

    purchase_id: int
    product_id: int
    title: str
    price_stars: int
    purchased_at: datetime


@dataclass(frozen=True)
class Download:
    """A paid original: send ``original_file_id`` when known, else upload ``original_key``."""

    purchase_id: int
    product_id: int
    title: str
    original_file_id: str | None
    # Key in the Object Store bucket ``originals``.
    original_key: str
    original_mime: str
    original_size: int


@dataclass(frozen=True)
class DeliveryTarget:
    """Where the outbox relay sends a purchase's original, and what it sends."""

    chat_id: int
    download: Download


def _download(row: PurchasedOriginal) -> Download:
    return Download(
        purchase_id=row.purchase_id,
        product_id=row.product_id,
        title=row.title,
        original_file_id=row.original_file_id,
        original_key=row.original_key,
        original_mime=row.original_mime,
        original_size=row.original_size,
    )


class PurchaseQueries:
    """The shopper's side: their purchases, a download, ownership."""

    def __init__(self, session_factory: SessionFactory) -> None:
        self._session_factory = session_factory

    async def list_for_user(
        self, telegram_user_id: int, offset: int, limit: int
    ) -> tuple[list[PurchaseItem], int]:
        """One page of paid purchases, newest first, and how many there are in all."""
        async with self._session_factory() as session, session.begin():
            purchases = PurchaseRepository(session)
            lines = await purchases.page_for_user(telegram_user_id, offset, limit)
            total = await purchases.count_for_user(telegram_user_id)
        return [PurchaseItem(*line) for line in lines], total

    async def downloadable(self, telegram_user_id: int, purchase_id: int) -> Download | None:
        """The original of this purchase if this shopper holds it, paid and not refunded.

        None alike for a missing, refunded or someone else's purchase: a forged callback
        learns nothing.
        """
        async with self._session_factory() as session, session.begin():
            row = await PurchaseRepository(session).paid_original(purchase_id)
        if row is None or row.owner_telegram_id != telegram_user_id:
            return None
        return _download(row)

    async def downloadable_product(self, telegram_user_id: int, product_id: int) -> Download | None:
        """The original of a product this shopper holds a paid copy of (newest purchase)."""
        async with self._session_factory() as session, session.begin():
            purchases = PurchaseRepository(session)
            row = await purchases.latest_paid_original(telegram_user_id, product_id)
        return None if row is None else _download(row)

    async def owns(self, telegram_user_id: int, product_id: int) -> bool:
        """Whether the shopper holds a paid copy of the product."""
        async with self._session_factory() as session, session.begin():
            return await PurchaseRepository(session).owns(telegram_user_id, product_id)


class DeliveryQueries:
    """The outbox relay's side of ``telegram.send_original``."""

    def __init__(self, session_factory: SessionFactory) -> None:
        self._session_factory = session_factory

    async def delivery_target(self, purchase_id: int) -> DeliveryTarget | None:
        """Chat and original for a purchase; None when it is gone or refunded (skip it)."""
        async with self._session_factory() as session, session.begin():
            row = await PurchaseRepository(session).paid_original(purchase_id)
        return None if row is None else DeliveryTarget(row.owner_telegram_id, _download(row))

    async def cache_original_file_id(self, product_id: int, file_id: str) -> bool:
        """Remember the file_id Telegram gave the first sent original; False if one was known."""
        async with self._session_factory() as session, session.begin():
            return await PurchaseRepository(session).cache_original_file_id(product_id, file_id)

    async def forget_original_file_id(self, product_id: int, file_id: str) -> bool:
        """Telegram refused this cached file_id: forget it (unless another replaced it)."""
        async with self._session_factory() as session, session.begin():
            return await PurchaseRepository(session).forget_original_file_id(product_id, file_id)
