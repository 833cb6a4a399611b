"""successful_payment: the money moved; deliver the copy, or refuse and refund the charge.

Telegram takes the Stars before it tells us, so a payment is never simply rejected: either
it becomes a purchase (and its original is delivered through the outbox), or it becomes a
refused charge whose refund the outbox makes (``telegram.refund_charge``), with the shopper
and the admins told. Both are recorded once per Telegram charge id, so a repeated update
changes nothing. Refused: a payload naming no order of the payer, an amount that is not
the order's, a second charge of one order, a copy the shopper owns already, and a limited
edition with no copy left for this payment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.db.models import OrderStatus, ProductStatus, RefusalReason, RefusedCharge
from vitrina_common.logging import get_logger
from vitrina_common.observability import shop_metrics
from vitrina_common.repositories.orders import OrderContext, OrderRepository
from vitrina_common.repositories.outbox import OutboxRepository
from vitrina_common.repositories.products import ProductRepository
from vitrina_common.repositories.purchases import PurchaseRepository
from vitrina_common.repositories.refused_charges import RefusedChargeRepository
from vitrina_common.services.checkout.invoice import STARS_CURRENCY
from vitrina_common.services.editions import HeldCopies, held_for_others
from vitrina_common.services.waitlist.claims import settle_waitlist

log = get_logger(__name__)

SessionFactory = async_sessionmaker[AsyncSession]
SEND_ORIGINAL = "telegram.send_original"
REFUND_CHARGE = "telegram.refund_charge"


class PaymentAnomaly(StrEnum):
    """Something pre-checkout should have prevented that does not stop the delivery."""

    ORDER_EXPIRED = "order_expired"
    PRICE_CHANGED = "price_changed"


@dataclass(frozen=True)
class Payment:
    """A successful_payment as Telegram reported it."""

    payload: str
    telegram_user_id: int
    telegram_payment_charge_id: str
    total_amount: int
    currency: str


@dataclass(frozen=True)
class PaymentRecord:
    """What a successful_payment became; ``is_new`` is False for a repeat delivery.

    A purchase (``purchase_id``), or a refused charge (``refusal``) being refunded.
    """

    is_new: bool
    product_title: str | None
    purchase_id: int | None = None
    refusal: RefusalReason | None = None
    anomalies: frozenset[PaymentAnomaly] = field(default_factory=frozenset)


class RecordSuccessfulPayment:
    """successful_payment: a purchase and its delivery, or a refusal and its refund, in one
    commit (see the module docstring).

    The order row is locked first (charges of one order queue up), then the product row
    for a limited edition (its copies are counted by one payment or pre-checkout at a time).
    """

    def __init__(self, session_factory: SessionFactory) -> None:
        self._session_factory = session_factory

    async def __call__(self, payment: Payment) -> PaymentRecord:
        """Record the payment once per charge id."""
        record = await self._record(payment)
        if record.is_new:
            bought = record.purchase_id is not None
            shop_metrics.payments.add(1, {"outcome": "purchase" if bought else "refused"})
            if bought:
                shop_metrics.revenue_stars.add(payment.total_amount)
                # What on-call greps for when a shopper says "I paid": the line has the trace id.
                log.info(
                    "payment recorded",
                    purchase_id=record.purchase_id,
                    charge_id=payment.telegram_payment_charge_id,
                    user=payment.telegram_user_id,
                    stars=payment.total_amount,
                )
        return record

    async def _record(self, payment: Payment) -> PaymentRecord:
        async with self._session_factory() as session, session.begin():
            context = await OrderRepository(session).by_payload(payment.payload, lock=True)
            known = context is not None and context.payer_telegram_id == payment.telegram_user_id
            context = context if known else None
            repeat = await _recorded(session, payment.telegram_payment_charge_id, context)
            if repeat is not None:
                return repeat
            if context is None:
                return await _refuse(session, payment, None, RefusalReason.UNKNOWN_ORDER)
            refusal = await _refusal(session, context, payment)
            if refusal is not None:
                return await _refuse(session, payment, context, refusal)
            return await _purchase(session, context, payment)


async def _recorded(
    session: AsyncSession, charge_id: str, context: OrderContext | None
) -> PaymentRecord | None:
    title = context.product.title if context is not None else None
    purchase = await PurchaseRepository(session).by_charge_id(charge_id)
    if purchase is not None:
        return PaymentRecord(is_new=False, product_title=title, purchase_id=purchase.id)
    refused = await RefusedChargeRepository(session).by_charge_id(charge_id)
    if refused is not None:
        return PaymentRecord(is_new=False, product_title=title, refusal=refused.reason)
    return None


async def _refusal(
    session: AsyncSession, context: OrderContext, payment: Payment
) -> RefusalReason | None:
    order, product = context.order, context.product
    if payment.currency != STARS_CURRENCY or payment.total_amount != order.price_stars:
        return RefusalReason.AMOUNT_MISMATCH
    purchases = PurchaseRepository(session)
    if await purchases.exists_for_order(order.id):
        return RefusalReason.ORDER_ALREADY_PAID
    if product.edition_size is not None:
        locked = await ProductRepository(session).get_for_update(product.id)
        product = locked if locked is not None else product
    sales = await purchases.sales(product.id, order.user_id)
    if sales.owned:
        return RefusalReason.ALREADY_OWNED
    if product.edition_size is None:
        return None
    # A live reservation of this order was counted by everyone else: its copy is there.
    # Without one, the copies other shoppers hold (paying, or offered them from the
    # waitlist) are not for sale to this payment.
    held = (
        HeldCopies()
        if context.holds_copy
        else await held_for_others(session, product.id, order.user_id)
    )
    return RefusalReason.SOLD_OUT if sales.sold + held.total >= product.edition_size else None


async def _refuse(
    session: AsyncSession,
    payment: Payment,
    context: OrderContext | None,
    reason: RefusalReason,
) -> PaymentRecord:
    refused_id = await RefusedChargeRepository(session).add_once(
        RefusedCharge(
            telegram_payment_charge_id=payment.telegram_payment_charge_id,
            telegram_user_id=payment.telegram_user_id,
            order_id=context.order.id if context is not None else None,
            product_id=context.product.id if context is not None else None,
            amount=payment.total_amount,
            currency=payment.currency,
            reason=reason,
        )
    )
    if refused_id is None:
        # Unreachable under the order lock; without an order, a concurrent twin recorded
        # it: failing lets the retry find that record.
        raise RuntimeError(f"charge {payment.telegram_payment_charge_id!r} recorded concurrently")
    if context is not None:
        await OrderRepository(session).mark_cancelled(context.order.id)
    await OutboxRepository(session).add(
        REFUND_CHARGE, dedup_key=f"refund:{refused_id}", payload={"refused_charge_id": refused_id}
    )
    log.warning(
        "payment refused, refunding",
        reason=reason.value,
        refused_charge_id=refused_id,
        charge_id=payment.telegram_payment_charge_id,
        user=payment.telegram_user_id,
    )
    title = context.product.title if context is not None else None
    return PaymentRecord(is_new=True, product_title=title, refusal=reason)


async def _purchase(
    session: AsyncSession, context: OrderContext, payment: Payment
) -> PaymentRecord:
    order, product = context.order, context.product
    anomalies = _anomalies(context)
    purchase_id = await PurchaseRepository(session).add_once(
        order.id,
        order.user_id,
        order.product_id,
        payment.total_amount,
        payment.telegram_payment_charge_id,
    )
    if purchase_id is None:
        raise RuntimeError(f"charge {payment.telegram_payment_charge_id!r} recorded concurrently")
    await OrderRepository(session).mark_paid(order.id)
    if product.edition_size is not None:
        await settle_waitlist(session, order)
    await OutboxRepository(session).add(
        SEND_ORIGINAL,
        dedup_key=f"deliver:{purchase_id}",
        payload={"purchase_id": purchase_id, "chat_id": context.payer_telegram_id},
    )
    if anomalies:
        log.warning(
            "payment delivered despite anomalies",
            anomalies=sorted(anomalies),
            purchase_id=purchase_id,
            order_id=order.id,
        )
    return PaymentRecord(
        is_new=True, product_title=product.title, purchase_id=purchase_id, anomalies=anomalies
    )


def _anomalies(context: OrderContext) -> frozenset[PaymentAnomaly]:
    order, product = context.order, context.product
    found = {
        PaymentAnomaly.ORDER_EXPIRED: order.status in {OrderStatus.EXPIRED, OrderStatus.CANCELLED}
        or (order.status is OrderStatus.PENDING and not context.is_live),
        PaymentAnomaly.PRICE_CHANGED: product.status is not ProductStatus.READY
        or product.price_stars != order.price_stars,
    }
    return frozenset(anomaly for anomaly, present in found.items() if present)
