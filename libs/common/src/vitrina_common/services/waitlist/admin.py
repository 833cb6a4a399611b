"""The admin's side of a limited edition: its line (move someone up or down, remove
them), the log of reservations, and a new edition size (a larger one frees copies for the
line). Every call names the admin: anyone else is refused, whatever screen they forged."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.db.models import ReservationCause
from vitrina_common.repositories.edition_reservations import (
    EditionReservationRepository,
    ReservationLine,
)
from vitrina_common.repositories.products import ProductRepository
from vitrina_common.repositories.waitlist import WaitingLine, WaitlistRepository
from vitrina_common.services.editions import taken_copies
from vitrina_common.services.waitlist.handout import HandOutCopies

SessionFactory = async_sessionmaker[AsyncSession]
# Larger than any edition a shop sells: a typo with extra zeros is refused.
MAX_EDITION_SIZE = 100_000


class AdminWaitlistRefusal(StrEnum):
    """Why an admin's waitlist request was not done."""

    NOT_ADMIN = "not_admin"
    NOT_FOUND = "not_found"
    # First (or last) in line already: nowhere to move.
    AT_EDGE = "at_edge"
    # Not a whole number from 1 to MAX_EDITION_SIZE.
    SIZE = "size"
    # Fewer copies than are sold or held already.
    BELOW_TAKEN = "below_taken"


@dataclass(frozen=True)
class LinePage:
    """A page of the product's line and how many wait in all."""

    items: list[WaitingLine]
    total: int


@dataclass(frozen=True)
class LogPage:
    """A page of the product's reservation log, newest first, and how many in all."""

    items: list[ReservationLine]
    total: int


def parse_edition_size(text: str) -> int | None:
    """An edition size an admin typed; None when it is not a whole number in range."""
    digits = text.strip()
    if not digits.isdecimal() or not digits.isascii() or len(digits) > 6:
        return None
    size = int(digits)
    return size if 1 <= size <= MAX_EDITION_SIZE else None


class AdminWaitlist:
    """The line, the log, and the edition size of a product, for admins only."""

    def __init__(
        self, session_factory: SessionFactory, admin_ids: frozenset[int], hand_out: HandOutCopies
    ) -> None:
        self._session_factory = session_factory
        self._admin_ids = admin_ids
        self._hand_out = hand_out

    async def line(
        self, admin_id: int, product_id: int, offset: int, limit: int
    ) -> LinePage | AdminWaitlistRefusal:
        """Who waits for the product, in order."""
        if admin_id not in self._admin_ids:
            return AdminWaitlistRefusal.NOT_ADMIN
        async with self._session_factory() as session, session.begin():
            items, total = await WaitlistRepository(session).line(product_id, max(offset, 0), limit)
        return LinePage(items, total)

    async def log(
        self, admin_id: int, product_id: int, offset: int, limit: int
    ) -> LogPage | AdminWaitlistRefusal:
        """The product's reservations: to whom, why, and how each ended."""
        if admin_id not in self._admin_ids:
            return AdminWaitlistRefusal.NOT_ADMIN
        async with self._session_factory() as session, session.begin():
            items, total = await EditionReservationRepository(session).log(
                product_id, max(offset, 0), limit
            )
        return LogPage(items, total)

    async def move(self, admin_id: int, entry_id: int, *, up: bool) -> AdminWaitlistRefusal | None:
        """Swap the entry with the one ahead of it (``up``) or behind it; None when done."""
        if admin_id not in self._admin_ids:
            return AdminWaitlistRefusal.NOT_ADMIN
        async with self._session_factory() as session, session.begin():
            line = WaitlistRepository(session)
            entry = await line.get(entry_id)
            if entry is None:
                return AdminWaitlistRefusal.NOT_FOUND
            # The product's lock keeps joins, hand-outs and other moves out meanwhile.
            await ProductRepository(session).get_for_update(entry.product_id)
            entry = await line.get(entry_id)
            other = None if entry is None else await line.neighbour(entry, ahead=up)
            if entry is None or other is None:
                return AdminWaitlistRefusal.AT_EDGE if entry else AdminWaitlistRefusal.NOT_FOUND
            # Keys are unique in a line (joins take the next one under the same lock).
            entry.queue_key, other.queue_key = other.queue_key, entry.queue_key
        return None

    async def remove(self, admin_id: int, entry_id: int) -> AdminWaitlistRefusal | None:
        """Take the shopper out of the line; None when done."""
        if admin_id not in self._admin_ids:
            return AdminWaitlistRefusal.NOT_ADMIN
        async with self._session_factory() as session, session.begin():
            line = WaitlistRepository(session)
            entry = await line.get(entry_id)
            if entry is not None:
                await ProductRepository(session).get_for_update(entry.product_id)
            if entry is None or not await line.remove(entry_id):
                return AdminWaitlistRefusal.NOT_FOUND
        return None

    async def resize_edition(
        self, admin_id: int, product_id: int, text: str
    ) -> int | AdminWaitlistRefusal:
        """A new edition size; the copies it frees are offered to the line in the same
        commit. The number of offers made, or why not."""
        if admin_id not in self._admin_ids:
            return AdminWaitlistRefusal.NOT_ADMIN
        size = parse_edition_size(text)
        if size is None:
            return AdminWaitlistRefusal.SIZE
        async with self._session_factory() as session, session.begin():
            product = await ProductRepository(session).get_for_update(product_id)
            if product is None:
                return AdminWaitlistRefusal.NOT_FOUND
            if size < await taken_copies(session, product.id, None):
                return AdminWaitlistRefusal.BELOW_TAKEN
            product.edition_size = size
            await session.flush()
            offers = await self._hand_out(session, product.id, ReservationCause.EDITION_RAISED)
        return len(offers)
