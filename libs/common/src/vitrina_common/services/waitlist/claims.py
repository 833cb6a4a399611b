"""What checkout does to the waitlist: a waitlisted shopper's offer is taken over by their
pre-checkout, and a purchase takes its buyer out of the line.

Called inside checkout's transactions, after the product's row lock (the order every
waitlist writer keeps: product first, then entries and reservations).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from vitrina_common.db.models import Order, ReservationState
from vitrina_common.repositories.edition_reservations import EditionReservationRepository
from vitrina_common.repositories.waitlist import WaitlistRepository


async def take_over_offer(session: AsyncSession, order: Order) -> bool:
    """The shopper's pre-checkout said yes: their offered copy (if any) is now held by the
    order, so it is not counted twice; whether there was one."""
    reservations = EditionReservationRepository(session)
    offer = await reservations.offered_to(order.product_id, order.user_id)
    if offer is None:
        return False
    return await reservations.close(offer.id, ReservationState.BOUGHT, order_id=order.id)


async def give_back_offer(session: AsyncSession, order: Order) -> bool:
    """The pre-checkout's "yes" never reached Telegram: an offer it took over is the
    shopper's again, until it runs out as it would have; whether there was one."""
    return await EditionReservationRepository(session).reopen_for_order(order.id)


async def settle_waitlist(session: AsyncSession, order: Order) -> None:
    """The order was paid: its buyer's offer is bought and they wait no more."""
    await take_over_offer(session, order)
    await WaitlistRepository(session).leave(order.product_id, order.user_id)
