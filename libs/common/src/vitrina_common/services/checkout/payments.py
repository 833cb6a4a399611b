"""After the money moved: record a successful payment (once), refund a purchase."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.db.models import Language, OrderStatus, ProductStatus, PurchaseStatus
from vitrina_common.logging import get_logger
from vitrina_common.repositories.orders import OrderContext, OrderRepository
from vitrina_common.repositories.outbox import OutboxRepository
from vitrina_common.repositories.purchases import PurchaseRepository, RefundRow
from vitrina_common.services.checkout.invoice import STARS_CURRENCY

log = get_logger(__name__)

SessionFactory = async_sessionmaker[AsyncSession]
SEND_ORIGINAL = "telegram.send_original"


class PaymentAnomaly(StrEnum):
    """Something pre-checkout should have prevented; the payment is recorded regardless."""

    ORDER_EXPIRED = "order_expired"
    # A second charge for an order that already had one (e.g. two invoices of one order paid).
    ORDER_ALREADY_PAID = "order_already_paid"
    AMOUNT_MISMATCH = "amount_mismatch"
    PRICE_CHANGED = "price_changed"
    # The shopper already held a paid copy: a candidate for a refund.
    ALREADY_OWNED = "already_owned"
    EDITION_OVERSOLD = "edition_oversold"


@dataclass(frozen=True)
class PaymentRecord:
    """The purchase a successful_payment became; ``is_new`` is False for a repeat delivery."""

    purchase_id: int
    product_id: int
    product_title: str
    is_new: bool
    anomalies: frozenset[PaymentAnomaly] = field(default_factory=frozenset)


class UnknownOrderPaymentError(LookupError):
    """Money was taken for a payload that names no order of the payer: refund it by hand."""

    def __init__(self, payload: str, telegram_user_id: int, charge_id: str) -> None:
        super().__init__(
            f"successful_payment {charge_id!r} of Telegram user {telegram_user_id} names no order "
            f"of theirs (payload {payload!r}); the Stars were taken, refund them"
        )
        self.payload = payload
        self.telegram_user_id = telegram_user_id
        self.charge_id = charge_id


class RecordSuccessfulPayment:
    """successful_payment: the purchase, the order paid and the file delivery, in one commit.

    Idempotent per Telegram charge id: the same update delivered twice, or handled by two
    replicas at once, makes one purchase and one outbox row (the order row lock queues
    them; the charge id's unique index would stop a second insert anyway).
    """

    def __init__(self, session_factory: SessionFactory) -> None:
        self._session_factory = session_factory

    async def __call__(
        self,
        payload: str,
        telegram_user_id: int,
        telegram_payment_charge_id: str,
        total_amount: int,
        currency: str,
    ) -> PaymentRecord:
        """Record the payment; raises ``UnknownOrderPaymentError`` when no order matches."""
        charge_id = telegram_payment_charge_id
        async with self._session_factory() as session, session.begin():
            context = await OrderRepository(session).by_payload(payload, lock=True)
            if context is None or context.payer_telegram_id != telegram_user_id:
                raise UnknownOrderPaymentError(payload, telegram_user_id, charge_id)
            purchases = PurchaseRepository(session)
            existing = await purchases.by_charge_id(charge_id)
            if existing is not None:
                return PaymentRecord(
                    existing.id, existing.product_id, context.product.title, is_new=False
                )
            anomalies = await _anomalies(session, context, total_amount, currency)
            record = await _record(session, context, charge_id, total_amount, anomalies)
        if anomalies:
            log.warning(
                "payment recorded despite anomalies",
                anomalies=sorted(anomalies),
                purchase_id=record.purchase_id,
                order_id=context.order.id,
                charge_id=charge_id,
            )
        return record


async def _anomalies(
    session: AsyncSession, context: OrderContext, total_amount: int, currency: str
) -> frozenset[PaymentAnomaly]:
    order, product = context.order, context.product
    purchases = PurchaseRepository(session)
    sales = await purchases.sales(product.id, order.user_id)
    found = {
        PaymentAnomaly.ORDER_EXPIRED: order.status in {OrderStatus.EXPIRED, OrderStatus.CANCELLED}
        or (order.status is OrderStatus.PENDING and not context.is_live),
        PaymentAnomaly.ORDER_ALREADY_PAID: await purchases.exists_for_order(order.id),
        PaymentAnomaly.AMOUNT_MISMATCH: currency != STARS_CURRENCY
        or total_amount != order.price_stars,
        PaymentAnomaly.PRICE_CHANGED: product.status is not ProductStatus.READY
        or product.price_stars != order.price_stars,
        PaymentAnomaly.ALREADY_OWNED: sales.owned,
        PaymentAnomaly.EDITION_OVERSOLD: product.edition_size is not None
        and sales.sold >= product.edition_size,
    }
    return frozenset(anomaly for anomaly, present in found.items() if present)


async def _record(
    session: AsyncSession,
    context: OrderContext,
    charge_id: str,
    total_amount: int,
    anomalies: frozenset[PaymentAnomaly],
) -> PaymentRecord:
    orders, purchases = OrderRepository(session), PurchaseRepository(session)
    order = context.order
    order_id = order.id
    if PaymentAnomaly.ORDER_ALREADY_PAID in anomalies:
        # purchases.order_id is unique: the second charge gets an order of its own.
        order_id = await orders.add_paid(
            order.user_id, order.product_id, total_amount, secrets.token_urlsafe(24)
        )
    purchase_id = await purchases.add_once(
        order_id, order.user_id, order.product_id, total_amount, charge_id
    )
    if purchase_id is None:
        # Unreachable: under the order lock the charge id was just looked up and absent.
        # Failing rolls back the extra order; a retry then finds the recorded purchase.
        raise RuntimeError(f"charge {charge_id!r} was recorded concurrently; retry")
    await orders.mark_paid(order_id)
    await OutboxRepository(session).add(
        SEND_ORIGINAL,
        dedup_key=f"deliver:{purchase_id}",
        payload={"purchase_id": purchase_id, "chat_id": context.payer_telegram_id},
    )
    return PaymentRecord(
        purchase_id, order.product_id, context.product.title, is_new=True, anomalies=anomalies
    )


class RefundRefusal(StrEnum):
    """Why a refund is not started."""

    NOT_FOUND = "not_found"
    ALREADY_REFUNDED = "already_refunded"


@dataclass(frozen=True)
class RefundTarget:
    """What refundStarPayment needs, and what to tell the shopper."""

    purchase_id: int
    telegram_user_id: int
    telegram_payment_charge_id: str
    product_title: str
    price_stars: int
    # The buyer's language, for telling them about the refund.
    language: Language


@dataclass(frozen=True)
class RefundConfirmation:
    """What ``confirm_once`` recorded."""

    target: RefundTarget
    # False when the purchase was refunded already: a repeated or concurrent confirm, whose
    # caller must not tell the buyer a second time.
    newly_refunded: bool


class RefundPurchase:
    """Refund in two steps, around Telegram's refundStarPayment.

    1. ``prepare(purchase_id)``: the target, or a refusal (unknown, already refunded).
       Changes nothing.
    2. The bot calls refundStarPayment(target.telegram_user_id, target.telegram_payment_charge_id).
    3. Only when Telegram said OK (or that the charge is already refunded, the answer a retry
       after a crash gets), ``confirm(purchase_id)`` marks the purchase refunded, which
       revokes the download.

    Why this order: marking first and then failing to refund would take the file away
    while keeping the Stars. Refunding first and then crashing leaves a refunded charge
    with the file still downloadable until the refund is retried: the shopper's favour,
    and ``confirm`` is idempotent, so retrying both steps converges.
    """

    def __init__(self, session_factory: SessionFactory) -> None:
        self._session_factory = session_factory

    async def prepare(self, purchase_id: int) -> RefundTarget | RefundRefusal:
        """What to refund, or why not; read-only."""
        async with self._session_factory() as session, session.begin():
            row = await PurchaseRepository(session).for_refund(purchase_id)
        if row is None:
            return RefundRefusal.NOT_FOUND
        if row.purchase.status is PurchaseStatus.REFUNDED:
            return RefundRefusal.ALREADY_REFUNDED
        return _target(row)

    async def confirm(self, purchase_id: int) -> RefundTarget:
        """Telegram refunded: mark the purchase refunded (again: no change, same answer)."""
        return (await self.confirm_once(purchase_id)).target

    async def confirm_once(self, purchase_id: int) -> RefundConfirmation:
        """Like ``confirm``, and says whether this call was the one that marked it."""
        async with self._session_factory() as session, session.begin():
            purchases = PurchaseRepository(session)
            row = await purchases.for_refund(purchase_id, lock=True)
            if row is None:
                raise LookupError(f"purchase {purchase_id} does not exist")
            newly_refunded = await purchases.mark_refunded(purchase_id)
        if newly_refunded:
            log.info("purchase refunded", purchase_id=purchase_id)
        return RefundConfirmation(_target(row), newly_refunded)


def _target(row: RefundRow) -> RefundTarget:
    return RefundTarget(
        purchase_id=row.purchase.id,
        telegram_user_id=row.owner_telegram_id,
        telegram_payment_charge_id=row.purchase.telegram_payment_charge_id,
        product_title=row.title,
        price_stars=row.purchase.price_stars,
        language=row.owner_language,
    )
