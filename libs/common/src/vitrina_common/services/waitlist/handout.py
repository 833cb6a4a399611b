"""Freed copies go to the line: each is offered to the first in line for a while.

A refund of an edition copy, a larger edition, and an offer that ran out or was declined
all call ``HandOutCopies`` inside their own transaction, so the copy is offered in the
same commit that freed it: nobody outside the line can take it in between. How many
copies are free is counted by checkout's ``stock`` (the one place that decides), under the
product's row lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from vitrina_common.clock import Clock, SystemClock
from vitrina_common.config import WaitlistSettings
from vitrina_common.db.models import Product, ProductStatus, ReservationCause, User
from vitrina_common.logging import get_logger
from vitrina_common.repositories.edition_reservations import EditionReservationRepository
from vitrina_common.repositories.products import ProductRepository
from vitrina_common.repositories.purchases import PurchaseRepository
from vitrina_common.repositories.waitlist import WaitlistRepository
from vitrina_common.services.editions import free_copies
from vitrina_common.services.waitlist.effects import Offer, announce_offer

log = get_logger(__name__)


@dataclass(frozen=True)
class ReservationPolicy:
    """How long a freed copy waits for the shopper it is offered to."""

    hold: timedelta

    @classmethod
    def from_settings(cls, settings: WaitlistSettings) -> ReservationPolicy:
        """The policy the configuration sets."""
        return cls(hold=timedelta(hours=settings.reservation_hours))


DEFAULT_POLICY = ReservationPolicy.from_settings(WaitlistSettings())


class HandOutCopies:
    """Offer every free copy of a limited edition to the next in line (in the caller's
    transaction; it never commits)."""

    def __init__(
        self, clock: Clock | None = None, policy: ReservationPolicy = DEFAULT_POLICY
    ) -> None:
        self._clock = clock or SystemClock()
        self._policy = policy

    @property
    def clock(self) -> Clock:
        """The clock offers are dated by."""
        return self._clock

    async def __call__(
        self, session: AsyncSession, product_id: int, cause: ReservationCause
    ) -> list[Offer]:
        """The offers made (none when no copy is free or nobody waits)."""
        product = await ProductRepository(session).get_for_update(product_id)
        # An archived product sells nothing: its line waits until it is back on sale.
        if product is None or product.status is not ProductStatus.READY:
            return []
        offers: list[Offer] = []
        free = await free_copies(session, product)
        now = self._clock.now()
        while len(offers) < free:
            offer = await self._offer_next(session, product, cause, now)
            if offer is None:
                break
            offers.append(offer)
        if offers:
            log.info("freed copies offered", product_id=product_id, offers=len(offers))
        return offers

    async def _offer_next(
        self, session: AsyncSession, product: Product, cause: ReservationCause, now: datetime
    ) -> Offer | None:
        line = WaitlistRepository(session)
        while (entry := await line.first(product.id)) is not None:
            await line.remove(entry.id)
            # Who bought a copy meanwhile, was banned or blocked the bot (cannot be told,
            # and checkout refuses them) waits no more: the copy goes to the next.
            user = await session.get(User, entry.user_id)
            if user is None or user.is_banned or user.is_blocked:
                continue
            if (await PurchaseRepository(session).sales(product.id, entry.user_id)).owned:
                continue
            expires_at = now + self._policy.hold
            reservation_id = await EditionReservationRepository(session).offer(
                product.id, entry.user_id, cause, now, expires_at
            )
            if reservation_id is None:
                continue
            offer = Offer(reservation_id, entry.user_id, product.id, product.title, expires_at)
            await announce_offer(session, offer, self._policy.hold, now)
            return offer
        return None
