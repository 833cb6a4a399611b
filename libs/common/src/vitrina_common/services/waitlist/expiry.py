"""Due items of the waitlist: an offer runs out (the copy goes to the next in line), and
the reminders before it does. Handlers run inside the worker's claiming transaction and
never commit (see ``vitrina_common.scheduling.due``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from vitrina_common.clock import Clock
from vitrina_common.db.models import ReservationCause, ReservationState
from vitrina_common.logging import get_logger
from vitrina_common.repositories.edition_reservations import EditionReservationRepository
from vitrina_common.repositories.products import ProductRepository
from vitrina_common.scheduling.due import DueItem
from vitrina_common.services.notifications import notify
from vitrina_common.services.waitlist.effects import (
    ReminderLead,
    buy_button,
    cancel_offer_items,
)
from vitrina_common.services.waitlist.handout import HandOutCopies

log = get_logger(__name__)


def _reservation_id(payload: Mapping[str, Any]) -> int | None:
    value = payload.get("reservation_id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class ReservationExpiry:
    """``reservation-expiry``: an offer not bought in time ends, and every free copy of the
    edition (this one included) goes to the next in line."""

    def __init__(self, hand_out: HandOutCopies) -> None:
        self._hand_out = hand_out

    async def __call__(self, session: AsyncSession, item: DueItem) -> None:
        """Expire the offer named by the item (a no-op once it was bought or ended)."""
        reservation_id = _reservation_id(item.payload)
        reservations = EditionReservationRepository(session)
        reservation = None if reservation_id is None else await reservations.get(reservation_id)
        if reservation is None:
            log.warning("expiry of an unknown reservation", payload=dict(item.payload))
            return
        # The product first, like every other writer of its line and copies.
        product = await ProductRepository(session).get_for_update(reservation.product_id)
        if await reservations.close(reservation.id, ReservationState.EXPIRED):
            await cancel_offer_items(session, reservation.id)
            await notify(
                session,
                user_id=reservation.user_id,
                template="notifications.waitlist.expired",
                params={"title": product.title if product is not None else ""},
                dedup_key=f"waitlist-expired:{reservation.id}",
                urgent=False,
                now=self._hand_out.clock.now(),
            )
        # Also when the offer was taken over by a checkout that never paid: its hold ran
        # out long ago, and the copy it freed waits for the line.
        await self._hand_out(session, reservation.product_id, ReservationCause.PASSED_ON)


class ReservationReminder:
    """``reservation-reminder``: a day (or an hour) before the offer runs out, remind the
    shopper, with the Buy button again; nothing once the offer ended."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def __call__(self, session: AsyncSession, item: DueItem) -> None:
        """Send the reminder the item names."""
        reservation_id = _reservation_id(item.payload)
        lead = item.payload.get("lead")
        reservations = EditionReservationRepository(session)
        reservation = None if reservation_id is None else await reservations.get(reservation_id)
        if reservation is None or lead not in set(ReminderLead):
            log.warning("reminder of an unknown reservation", payload=dict(item.payload))
            return
        if reservation.state is not ReservationState.OFFERED:
            return
        product = await ProductRepository(session).get(reservation.product_id)
        lead = ReminderLead(lead)
        await notify(
            session,
            user_id=reservation.user_id,
            template=f"notifications.waitlist.reminder_{lead.value}",
            params={"title": product.title if product is not None else ""},
            dedup_key=f"waitlist-reminder:{reservation.id}:{lead.value}",
            # The last hour cannot wait for quiet hours to end.
            urgent=lead is ReminderLead.HOUR,
            now=self._clock.now(),
            buttons=(buy_button(reservation.id),),
        )
