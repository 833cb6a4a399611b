"""pre_checkout_query: may Telegram take the money for this invoice? Yes holds a copy.

Telegram charges right after a "yes", so "yes" must mean the order can be fulfilled: for a
limited edition it reserves a copy in the same transaction that counted the copies, under
the product's row lock, so two shoppers racing for the last copy are answered one after
the other and the second hears "sold out". Copies offered to waitlisted shoppers count as
taken for everyone else (``services.editions``); the offered shopper's yes takes the offer
over. A reservation runs out by itself (``reserved_until``), is taken back when the "yes"
could not be sent, and turns into the purchase when the payment arrives.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.db.models import OrderStatus, ProductStatus
from vitrina_common.repositories.orders import OrderContext, OrderRepository
from vitrina_common.repositories.products import ProductRepository
from vitrina_common.repositories.purchases import PurchaseRepository
from vitrina_common.services.checkout.invoice import STARS_CURRENCY
from vitrina_common.services.editions import availability, held_for_others
from vitrina_common.services.waitlist.claims import give_back_offer, take_over_offer

SessionFactory = async_sessionmaker[AsyncSession]
DEFAULT_RESERVATION = timedelta(minutes=5)


class PreCheckoutRefusal(StrEnum):
    """Why Telegram is told not to take the money."""

    WRONG_CURRENCY = "wrong_currency"
    # Also another user's payload: whether it exists is nobody else's business.
    UNKNOWN_ORDER = "unknown_order"
    ORDER_CLOSED = "order_closed"
    EXPIRED = "expired"
    WRONG_AMOUNT = "wrong_amount"
    PRODUCT_UNAVAILABLE = "not_available"
    PRICE_CHANGED = "price_changed"
    ALREADY_OWNED = "already_owned"
    SOLD_OUT = "sold_out"
    # The copies left are reserved for shoppers on the waitlist.
    RESERVED = "reserved"


@dataclass(frozen=True)
class PreCheckoutVerdict:
    """The answer to a pre_checkout_query: ``ok``, or the reason it is not."""

    ok: bool
    reason: PreCheckoutRefusal | None = None


class CheckPreCheckout:
    """pre_checkout_query: OK only when the order is this user's, open, live, and still
    sellable as is; an OK reserves the copy (see the module docstring).

    The order row is locked first, then (for a limited edition) the product row: the same
    order as ``RecordSuccessfulPayment``, so the two never deadlock.
    """

    def __init__(
        self, session_factory: SessionFactory, reservation: timedelta = DEFAULT_RESERVATION
    ) -> None:
        self._session_factory = session_factory
        self._reservation = reservation

    async def __call__(
        self, payload: str, telegram_user_id: int, currency: str, total_amount: int
    ) -> PreCheckoutVerdict:
        """The verdict; an OK is committed with its reservation."""
        if currency != STARS_CURRENCY:
            return PreCheckoutVerdict(ok=False, reason=PreCheckoutRefusal.WRONG_CURRENCY)
        async with self._session_factory() as session, session.begin():
            orders = OrderRepository(session)
            context = await orders.by_payload(payload, lock=True)
            if context is None or context.payer_telegram_id != telegram_user_id:
                return PreCheckoutVerdict(ok=False, reason=PreCheckoutRefusal.UNKNOWN_ORDER)
            reason = _order_refusal(context, total_amount)
            if reason is PreCheckoutRefusal.EXPIRED:
                await orders.mark_expired(context.order.id)
            if reason is None:
                reason = await _stock_refusal(session, context)
            # Only a limited edition has copies to hold; a yes for anything else needs none.
            if reason is None and context.product.edition_size is not None:
                await orders.reserve(context.order.id, self._reservation)
                # A copy offered to this shopper from the waitlist: the hold keeps it now.
                await take_over_offer(session, context.order)
        return PreCheckoutVerdict(ok=reason is None, reason=reason)


class ReleaseReservation:
    """The "yes" to a pre-checkout never reached Telegram: give the copy back at once
    rather than when the reservation runs out."""

    def __init__(self, session_factory: SessionFactory) -> None:
        self._session_factory = session_factory

    async def __call__(self, payload: str) -> bool:
        """Whether a reservation was released."""
        async with self._session_factory() as session, session.begin():
            orders = OrderRepository(session)
            context = await orders.by_payload(payload, lock=True)
            if context is None or not await orders.release(context.order.id):
                return False
            await give_back_offer(session, context.order)
            return True


def _order_refusal(context: OrderContext, total_amount: int) -> PreCheckoutRefusal | None:
    order, product = context.order, context.product
    # Reserved: a pre-checkout of this invoice passed before; the shopper is paying again.
    open_ = order.status in {OrderStatus.PENDING, OrderStatus.RESERVED}
    expired = order.status is OrderStatus.EXPIRED or (open_ and not context.is_live)
    # In priority order: the first failed check is the reason given.
    checks = (
        (expired, PreCheckoutRefusal.EXPIRED),
        (not open_, PreCheckoutRefusal.ORDER_CLOSED),
        (total_amount != order.price_stars, PreCheckoutRefusal.WRONG_AMOUNT),
        (product.status is not ProductStatus.READY, PreCheckoutRefusal.PRODUCT_UNAVAILABLE),
        (product.price_stars != order.price_stars, PreCheckoutRefusal.PRICE_CHANGED),
    )
    return next((reason for failed, reason in checks if failed), None)


async def _stock_refusal(session: AsyncSession, context: OrderContext) -> PreCheckoutRefusal | None:
    order, product = context.order, context.product
    held = None
    if product.edition_size is not None:
        # Under the product's lock, so copies are counted by one pre-checkout at a time.
        locked = await ProductRepository(session).get_for_update(product.id)
        product = locked if locked is not None else product
        held = await held_for_others(session, product.id, order.user_id)
    sales = await PurchaseRepository(session).sales(product.id, order.user_id)
    refused = availability(product, sales, held)
    # The reasons availability() gives exist in both enums under the same value.
    return None if refused is None else PreCheckoutRefusal(refused.value)
