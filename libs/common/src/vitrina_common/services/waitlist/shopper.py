"""The shopper's side of a limited edition: how many copies are left, joining and leaving
its line, and the Buy button of an offered copy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.db.models import Product, ProductStatus, ReservationCause, ReservationState
from vitrina_common.repositories.edition_reservations import EditionReservationRepository
from vitrina_common.repositories.products import ProductRepository
from vitrina_common.repositories.purchases import PurchaseRepository
from vitrina_common.repositories.users import UserRepository
from vitrina_common.repositories.waitlist import WaitlistRepository
from vitrina_common.services.editions import (
    CheckoutRefusal,
    availability,
    held_for_others,
    taken_copies,
)
from vitrina_common.services.waitlist.effects import cancel_offer_items
from vitrina_common.services.waitlist.handout import HandOutCopies

SessionFactory = async_sessionmaker[AsyncSession]


class WaitlistRefusal(StrEnum):
    """Why a shopper's waitlist request was not done."""

    UNKNOWN_USER = "unknown_user"
    # Not a limited edition on sale (or no such product).
    NOT_AVAILABLE = "not_available"
    ALREADY_OWNED = "already_owned"
    # A copy is there for this shopper: buy it instead of queueing.
    COPIES_LEFT = "copies_left"
    # A forged or someone else's reservation: nothing to say about it.
    NO_OFFER = "no_offer"
    OFFER_ENDED = "offer_ended"


@dataclass(frozen=True)
class EditionStatus:
    """A limited edition as one shopper sees it."""

    size: int
    # Copies this shopper could buy now (their own offer included).
    left: int
    # 1-based place in the line; None when not in it.
    position: int | None
    offer_id: int | None
    offer_expires_at: datetime | None


class Waitlist:
    """Status, join, leave, and claiming an offer (see the module docstring)."""

    def __init__(self, session_factory: SessionFactory, hand_out: HandOutCopies) -> None:
        self._session_factory = session_factory
        self._hand_out = hand_out

    async def status(self, telegram_id: int, product_id: int) -> EditionStatus | None:
        """The edition's copies and the shopper's place; None for an unlimited product."""
        async with self._session_factory() as session, session.begin():
            user = await UserRepository(session).get_by_telegram_id(telegram_id)
            product = await ProductRepository(session).get(product_id)
            if product is None or product.edition_size is None:
                return None
            user_id = user.id if user is not None else None
            taken = await taken_copies(session, product.id, user_id)
            position, offer = None, None
            if user_id is not None:
                position = await WaitlistRepository(session).position(product.id, user_id)
                offer = await EditionReservationRepository(session).offered_to(product.id, user_id)
        return EditionStatus(
            size=product.edition_size,
            left=max(0, product.edition_size - taken),
            position=position,
            offer_id=offer.id if offer is not None else None,
            offer_expires_at=offer.expires_at if offer is not None else None,
        )

    async def join(self, telegram_id: int, product_id: int) -> int | WaitlistRefusal:
        """Queue for a sold-out edition; the shopper's position (theirs already if queued)."""
        async with self._session_factory() as session, session.begin():
            user = await UserRepository(session).get_by_telegram_id(telegram_id)
            if user is None or user.is_blocked:
                return WaitlistRefusal.UNKNOWN_USER
            product = await ProductRepository(session).get_for_update(product_id)
            refusal = await _join_refusal(session, product, user.id)
            if refusal is not None or product is None:
                return refusal or WaitlistRefusal.NOT_AVAILABLE
            line = WaitlistRepository(session)
            await line.join(product.id, user.id)
            return await line.position(product.id, user.id) or 0

    async def leave(self, telegram_id: int, product_id: int) -> bool:
        """Leave the line, or decline an offered copy (it goes to the next in line);
        whether anything changed."""
        async with self._session_factory() as session, session.begin():
            user = await UserRepository(session).get_by_telegram_id(telegram_id)
            if user is None or await ProductRepository(session).get_for_update(product_id) is None:
                return False
            left = await WaitlistRepository(session).leave(product_id, user.id)
            reservations = EditionReservationRepository(session)
            offer = await reservations.offered_to(product_id, user.id)
            if offer is None or not await reservations.close(offer.id, ReservationState.CANCELLED):
                return left
            await cancel_offer_items(session, offer.id)
            await self._hand_out(session, product_id, ReservationCause.PASSED_ON)
            return True

    async def claim(self, telegram_id: int, reservation_id: int) -> int | WaitlistRefusal:
        """The Buy button of an offer: its product id when the offer is this shopper's and
        still open (then checkout sells them the copy), else why not."""
        async with self._session_factory() as session, session.begin():
            user = await UserRepository(session).get_by_telegram_id(telegram_id)
            reservation = await EditionReservationRepository(session).get(reservation_id)
        if user is None or reservation is None or reservation.user_id != user.id:
            return WaitlistRefusal.NO_OFFER
        if reservation.state is not ReservationState.OFFERED:
            return WaitlistRefusal.OFFER_ENDED
        return reservation.product_id


async def _join_refusal(
    session: AsyncSession, product: Product | None, user_id: int
) -> WaitlistRefusal | None:
    if product is None or product.edition_size is None:
        return WaitlistRefusal.NOT_AVAILABLE
    if product.status is not ProductStatus.READY:
        return WaitlistRefusal.NOT_AVAILABLE
    if await EditionReservationRepository(session).offered_to(product.id, user_id) is not None:
        return WaitlistRefusal.COPIES_LEFT
    sales = await PurchaseRepository(session).sales(product.id, user_id)
    held = await held_for_others(session, product.id, user_id)
    refused = availability(product, sales, held)
    if refused is CheckoutRefusal.ALREADY_OWNED:
        return WaitlistRefusal.ALREADY_OWNED
    if refused in {CheckoutRefusal.SOLD_OUT, CheckoutRefusal.RESERVED}:
        return None
    return WaitlistRefusal.COPIES_LEFT
