"""Issue an invoice: the "Buy" button.

Paying is three steps on Telegram's side: we send an invoice whose payload names an order,
Telegram asks us (pre_checkout_query, answered within 10 s, see ``pre_checkout``) whether
to take the money, and then tells us it did (successful_payment, see ``payments``). Only
the order's random payload travels through Telegram, so everything the invoice promised is
checked again against the database at each step.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.db.models import Product
from vitrina_common.observability import shop_metrics
from vitrina_common.repositories.orders import OrderRepository
from vitrina_common.repositories.products import ProductRepository
from vitrina_common.repositories.purchases import PurchaseRepository
from vitrina_common.repositories.users import UserRepository
from vitrina_common.services.editions import (
    CheckoutRefusal,
    HeldCopies,
    availability,
    held_for_others,
)
from vitrina_common.text_limits import clip

SessionFactory = async_sessionmaker[AsyncSession]

STARS_CURRENCY = "XTR"
# sendInvoice's limits on title and description, in characters.
INVOICE_TITLE_MAX = 32
INVOICE_DESCRIPTION_MAX = 255
DEFAULT_ORDER_TTL = timedelta(minutes=15)


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


class StartCheckout:
    """The "Buy" button: create a pending order and the invoice for it."""

    def __init__(self, session_factory: SessionFactory, ttl: timedelta = DEFAULT_ORDER_TTL) -> None:
        self._session_factory = session_factory
        self._ttl = ttl

    async def __call__(self, telegram_user_id: int, product_id: int) -> Invoice | CheckoutRefusal:
        """The invoice to send, or why the shopper cannot buy this product now."""
        issued = await self._issue(telegram_user_id, product_id)
        if isinstance(issued, Invoice):
            shop_metrics.orders.add(1)
        return issued

    async def _issue(self, telegram_user_id: int, product_id: int) -> Invoice | CheckoutRefusal:
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
            limited = product.edition_size is not None
            held = await held_for_others(session, product.id, user.id) if limited else HeldCopies()
            refusal = availability(product, sales, held)
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
