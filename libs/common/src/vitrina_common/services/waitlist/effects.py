"""What an offer sets in motion: its expiry and reminders (due items) and the shopper's
messages (notifications), all in the caller's transaction.

The turn message is urgent (a copy waits, with a Buy button); so is the last hour's
reminder. The day-before one may wait for the end of the shopper's quiet hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from vitrina_common.scheduling.due import cancel_due, schedule_due
from vitrina_common.services.notifications import NotificationButton, notify

RESERVATION_EXPIRY = "reservation-expiry"
RESERVATION_REMINDER = "reservation-reminder"
# The Buy button of a turn message: "wl:buy:<reservation id>".
BUY_CALLBACK_PREFIX = "wl:buy:"


class ReminderLead(StrEnum):
    """How long before the reservation runs out a reminder goes."""

    DAY = "day"
    HOUR = "hour"

    @property
    def before_expiry(self) -> timedelta:
        """The time before expiry."""
        return timedelta(days=1) if self is ReminderLead.DAY else timedelta(hours=1)


@dataclass(frozen=True)
class Offer:
    """A freed copy offered to one shopper (``user_id`` is the users row)."""

    reservation_id: int
    user_id: int
    product_id: int
    title: str
    expires_at: datetime


def buy_button(reservation_id: int) -> NotificationButton:
    """The Buy button that opens the invoice for the reserved shopper."""
    return NotificationButton(
        text="notifications.waitlist.buy", callback_data=f"{BUY_CALLBACK_PREFIX}{reservation_id}"
    )


async def announce_offer(
    session: AsyncSession, offer: Offer, hold: timedelta, now: datetime
) -> None:
    """Schedule the offer's expiry and reminders and tell the shopper it is their turn."""
    payload = {"reservation_id": offer.reservation_id}
    await schedule_due(
        session,
        kind=RESERVATION_EXPIRY,
        key=str(offer.reservation_id),
        due_at=offer.expires_at,
        payload=payload,
    )
    for lead in ReminderLead:
        # A reminder due when the offer is made would only repeat the turn message.
        if hold > lead.before_expiry:
            await schedule_due(
                session,
                kind=RESERVATION_REMINDER,
                key=f"{offer.reservation_id}:{lead.value}",
                due_at=offer.expires_at - lead.before_expiry,
                payload={**payload, "lead": lead.value},
            )
    hours = max(1, round(hold / timedelta(hours=1)))
    await notify(
        session,
        user_id=offer.user_id,
        template="notifications.waitlist.turn",
        params={"title": offer.title, "hours": hours},
        dedup_key=f"waitlist-turn:{offer.reservation_id}",
        urgent=True,
        now=now,
        buttons=(buy_button(offer.reservation_id),),
    )


async def cancel_offer_items(session: AsyncSession, reservation_id: int) -> None:
    """The offer ended early (declined, taken back): its expiry and reminders are moot."""
    await cancel_due(session, kind=RESERVATION_EXPIRY, key=str(reservation_id))
    for lead in ReminderLead:
        await cancel_due(session, kind=RESERVATION_REMINDER, key=f"{reservation_id}:{lead.value}")
