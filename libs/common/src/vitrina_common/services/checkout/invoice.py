"""Issue an invoice, then vet Telegram's pre-checkout query for it.

Paying is three steps on Telegram's side: we send an invoice whose payload names an order,
Telegram asks us (pre_checkout_query, answered within 10 s) whether to take the money, and
then tells us it did (successful_payment, see ``checkout_payments``). Only the order's
random payload travels through Telegram, so everything the invoice promised is checked
again here against the database.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.db.models import OrderStatus, Product, ProductStatus
from vitrina_common.repositories.orders import OrderContext, OrderRepository
from vitrina_common.repositories.products import ProductRepository
from vitrina_common.repositories.purchases import PurchaseRepository, Sales
from vitrina_common.repositories.users import UserRepository

SessionFactory = async_sessionmaker[AsyncSession]

STARS_CURRENCY = "XTR"
# sendInvoice's limits on title and description, in characters.
INVOICE_TITLE_MAX = 32
INVOICE_DESCRIPTION_MAX = 255
DEFAULT_ORDER_TTL = timedelta(minutes=15)


class CheckoutRefusal(StrEnum):
    """Why no invoice was issued."""

    UNKNOWN_USER = "unknown_user"
    USER_BLOCKED = "blocked"
    PRODUCT_UNAVAILABLE = "not_available"
    ALREADY_OWNED = "already_owned"
    SOLD_OUT = "sold_out"


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


@dataclass(frozen=True)
class Invoice:
    """What sendInvoice needs; amounts in Stars, currency ``XTR``."""

    order_id: int
    payload: str
    title: str
    description: str
    price_stars: int
    product_id: int
    preview_file_id: str | None


@dataclass(frozen=True)
class PreCheckoutVerdict:
    """The answer to a pre_checkout_query: ``ok``, or the reason it is not."""

    ok: bool
    reason: PreCheckoutRefusal | None = None


def clip(text: str, limit: int) -> str:
    """``text`` stripped and cut to ``limit`` characters, ending in "…" when cut."""
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def availability(product: Product, sales: Sales) -> CheckoutRefusal | None:
    """Why ``product`` cannot be sold to the shopper ``sales`` was counted for, if so."""
    if product.status is not ProductStatus.READY:
        return CheckoutRefusal.PRODUCT_UNAVAILABLE
    if sales.owned:
        return CheckoutRefusal.ALREADY_OWNED
    if product.edition_size is not None and sales.sold >= product.edition_size:
        return CheckoutRefusal.SOLD_OUT
    return None


class StartCheckout:
    """The "Buy" button: create a pending order and the invoice for it."""

    def __init__(self, session_factory: SessionFactory, ttl: timedelta = DEFAULT_ORDER_TTL) -> None:
        self._session_factory = session_factory
        self._ttl = ttl

    async def __call__(self, telegram_user_id: int, product_id: int) -> Invoice | CheckoutRefusal:
        """The invoice to send, or why the shopper cannot buy this product now."""
        async with self._session_factory() as session, session.begin():
            user = await UserRepository(session).get_by_telegram_id(telegram_user_id)
            if user is None:
                return CheckoutRefusal.UNKNOWN_USER
            if user.is_blocked:
                return CheckoutRefusal.USER_BLOCKED
            product = await ProductRepository(session).get(product_id)
            if product is None:
                return CheckoutRefusal.PRODUCT_UNAVAILABLE
            sales = await PurchaseRepository(session).sales(product.id, user.id)
            refusal = availability(product, sales)
            if refusal is not None:
                return refusal
            order = await OrderRepository(session).add_pending(
                user.id,
                product.id,
                product.price_stars,
                # The only thing Telegram echoes back: unguessable, so it cannot be forged.
                invoice_payload=secrets.token_urlsafe(24),
                ttl=self._ttl,
            )
            return _invoice(order.id, order.invoice_payload, product)


def _invoice(order_id: int, payload: str, product: Product) -> Invoice:
    # Telegram refuses an empty description; the title is the most honest stand-in.
    description = product.description.strip() or product.title
    return Invoice(
        order_id=order_id,
        payload=payload,
        title=clip(product.title, INVOICE_TITLE_MAX),
        description=clip(description, INVOICE_DESCRIPTION_MAX),
        price_stars=product.price_stars,
        product_id=product.id,
        preview_file_id=product.preview_file_id,
    )


class CheckPreCheckout:
    """pre_checkout_query: may Telegram take the money for this payload?

    Two indexed queries (order with product and payer; the product's paid copies), plus an
    UPDATE when the order turns out to have expired.
    """

    def __init__(self, session_factory: SessionFactory) -> None:
        self._session_factory = session_factory

    async def __call__(
        self, payload: str, telegram_user_id: int, currency: str, total_amount: int
    ) -> PreCheckoutVerdict:
        """OK only when the order is this user's, pending, live, and still sellable as is."""
        if currency != STARS_CURRENCY:
            return PreCheckoutVerdict(ok=False, reason=PreCheckoutRefusal.WRONG_CURRENCY)
        async with self._session_factory() as session, session.begin():
            orders = OrderRepository(session)
            context = await orders.by_payload(payload)
            if context is None or context.payer_telegram_id != telegram_user_id:
                return PreCheckoutVerdict(ok=False, reason=PreCheckoutRefusal.UNKNOWN_ORDER)
            reason = _order_refusal(context, total_amount)
            if reason is PreCheckoutRefusal.EXPIRED:
                await orders.mark_expired(context.order.id)
            if reason is None:
                sales = await PurchaseRepository(session).sales(
                    context.product.id, context.order.user_id
                )
                refused = availability(context.product, sales)
                # The reasons availability() gives exist in both enums under the same value.
                reason = None if refused is None else PreCheckoutRefusal(refused.value)
        return PreCheckoutVerdict(ok=reason is None, reason=reason)


def _order_refusal(context: OrderContext, total_amount: int) -> PreCheckoutRefusal | None:
    order, product = context.order, context.product
    pending = order.status is OrderStatus.PENDING
    expired = order.status is OrderStatus.EXPIRED or (pending and not context.is_live)
    # In priority order: the first failed check is the reason given.
    checks = (
        (expired, PreCheckoutRefusal.EXPIRED),
        (not pending, PreCheckoutRefusal.ORDER_CLOSED),
        (total_amount != order.price_stars, PreCheckoutRefusal.WRONG_AMOUNT),
        (product.status is not ProductStatus.READY, PreCheckoutRefusal.PRODUCT_UNAVAILABLE),
        (product.price_stars != order.price_stars, PreCheckoutRefusal.PRICE_CHANGED),
    )
    return next((reason for failed, reason in checks if failed), None)
