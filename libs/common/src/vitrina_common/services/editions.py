"""Copies of a limited edition: the one place that decides whether a copy is there for a
shopper.

A copy is taken when it is sold (a paid purchase), held by another shopper's pre-checkout
that said yes (until its ``reserved_until``), or offered to another waitlisted shopper (an
``EditionReservation`` in state offered). The invoice, the pre-checkout and the payment
all count through ``held_for_others`` under the product's row lock (the pre-checkout and
the payment take it), and so does the waitlist when it hands out freed copies.

Outside the checkout package on purpose: the waitlist counts copies here, and checkout
(refunds) hands freed copies to the waitlist, so either importing the other's package
would be a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from vitrina_common.db.models import Product, ProductStatus
from vitrina_common.repositories.edition_reservations import EditionReservationRepository
from vitrina_common.repositories.orders import OrderRepository
from vitrina_common.repositories.purchases import PurchaseRepository, Sales


class CheckoutRefusal(StrEnum):
    """Why no invoice was issued."""

    UNKNOWN_USER = "unknown_user"
    USER_BLOCKED = "blocked"
    PRODUCT_UNAVAILABLE = "not_available"
    ALREADY_OWNED = "already_owned"
    SOLD_OUT = "sold_out"
    # The copies left are reserved for shoppers on the waitlist.
    RESERVED = "reserved"


@dataclass(frozen=True)
class HeldCopies:
    """Copies of an edition kept from one shopper (or from everyone) besides the sold ones."""

    # Live pre-checkout holds of other shoppers.
    by_checkouts: int = 0
    # Freed copies offered to other waitlisted shoppers.
    for_waitlist: int = 0

    @property
    def total(self) -> int:
        """Every copy held."""
        return self.by_checkouts + self.for_waitlist


async def held_for_others(
    session: AsyncSession, product_id: int, user_id: int | None
) -> HeldCopies:
    """Copies held for shoppers other than ``user_id`` (None: held for anyone)."""
    by_checkouts = await OrderRepository(session).held_copies(product_id, user_id)
    offered = await EditionReservationRepository(session).offered_to_others(product_id, user_id)
    return HeldCopies(by_checkouts, offered)


async def taken_copies(session: AsyncSession, product_id: int, user_id: int | None) -> int:
    """Copies sold, or held for shoppers other than ``user_id`` (None: for anyone)."""
    sold = (await PurchaseRepository(session).sales(product_id, user_id or 0)).sold
    return sold + (await held_for_others(session, product_id, user_id)).total


async def free_copies(session: AsyncSession, product: Product) -> int:
    """Copies of a limited edition nobody has, holds or was offered (0 when unlimited:
    an unlimited product has no copies to hand out)."""
    if product.edition_size is None:
        return 0
    return max(0, product.edition_size - await taken_copies(session, product.id, None))


def availability(
    product: Product, sales: Sales, held: HeldCopies | None = None
) -> CheckoutRefusal | None:
    """Why ``product`` cannot be sold to the shopper ``sales`` was counted for, if so;
    ``held``: copies held for other shoppers (see ``held_for_others``)."""
    held = held or HeldCopies()
    if product.status is not ProductStatus.READY:
        return CheckoutRefusal.PRODUCT_UNAVAILABLE
    if sales.owned:
        return CheckoutRefusal.ALREADY_OWNED
    size = product.edition_size
    if size is not None and sales.sold + held.total >= size:
        # Copies only waitlisted shoppers may buy: say so, not just "sold out".
        waitlist_only = sales.sold + held.by_checkouts < size
        return CheckoutRefusal.RESERVED if waitlist_only else CheckoutRefusal.SOLD_OUT
    return None
