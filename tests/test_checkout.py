"""Checkout: invoices and pre-checkout verdicts, on a real Postgres; ``Shop`` for the others."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from vitrina_common.db.models import (
    Order,
    OrderStatus,
    OutboxMessage,
    Product,
    ProductStatus,
    User,
)
from vitrina_common.repositories.categories import CategoryRepository
from vitrina_common.services.checkout import (
    CheckoutRefusal,
    CheckPreCheckout,
    Invoice,
    Payment,
    PaymentRecord,
    PreCheckoutRefusal,
    PreCheckoutVerdict,
    PurchaseQueries,
    RecordSuccessfulPayment,
    ReleaseReservation,
    StartCheckout,
)
from vitrina_common.services.users import RegisterUser

pytestmark = pytest.mark.postgres

SessionFactory = async_sessionmaker[AsyncSession]
ALICE, BOB = 1001, 2002
OK = PreCheckoutVerdict(ok=True)


class Shop:
    """A shop on the test's database: shoppers, products, and the checkout use cases."""

    def __init__(
        self,
        session_factory: SessionFactory,
        ttl: timedelta = timedelta(minutes=15),
        reservation: timedelta = timedelta(minutes=5),
    ):
        self.session_factory = session_factory
        self.start = StartCheckout(session_factory, ttl=ttl)
        self.pre_checkout = CheckPreCheckout(session_factory, reservation)
        self.release = ReleaseReservation(session_factory)
        self.record = RecordSuccessfulPayment(session_factory)
        self.queries = PurchaseQueries(session_factory)

    async def shopper(self, telegram_id: int) -> None:
        """A user who sent /start."""
        await RegisterUser(self.session_factory)(telegram_id, "shopper", "Shopper", "en")

    async def product(
        self,
        *,
        price: int = 10,
        edition_size: int | None = None,
        title: str = "Sunset",
        description: str = "Warm light over the sea",
        status: ProductStatus = ProductStatus.READY,
    ) -> int:
        """A product inserted directly in ``status`` (no render pipeline needed)."""
        async with self.session_factory() as session, session.begin():
            category = await CategoryRepository(session).get_or_create("Tests")
            product = Product(
                category_id=category.id,
                title=title,
                description=description,
                price_stars=price,
                edition_size=edition_size,
                status=status,
                original_key="ab" * 32,
                original_sha256="ab" * 32,
                original_size=1234,
                original_mime="image/jpeg",
                preview_file_id="preview-file-id",
            )
            session.add(product)
            await session.flush()
            return product.id

    async def change(self, model: Any, row_id: int, **values: Any) -> None:
        """Change a row behind the use cases' backs (an admin edit, a blocked user)."""
        async with self.session_factory() as session, session.begin():
            await session.execute(update(model).where(model.id == row_id).values(**values))

    async def invoice(self, telegram_id: int, product_id: int) -> Invoice:
        """Start a checkout that must succeed."""
        result = await self.start(telegram_id, product_id)
        assert isinstance(result, Invoice), result
        return result

    async def pay(self, invoice: Invoice, telegram_id: int, charge_id: str) -> PaymentRecord:
        """Telegram's successful_payment for ``invoice``, at the invoiced price."""
        return await self.paid(invoice.payload, telegram_id, charge_id, invoice.price_stars)

    async def bought(self, invoice: Invoice, telegram_id: int, charge_id: str) -> int:
        """Pay ``invoice`` and require a purchase; its id."""
        record = await self.pay(invoice, telegram_id, charge_id)
        assert record.purchase_id is not None, record
        return record.purchase_id

    async def paid(
        self, payload: str, telegram_id: int, charge_id: str, amount: int, currency: str = "XTR"
    ) -> PaymentRecord:
        """Telegram's successful_payment as given."""
        return await self.record(Payment(payload, telegram_id, charge_id, amount, currency))

    async def check(self, invoice: Invoice, telegram_id: int) -> PreCheckoutVerdict:
        """Telegram's pre_checkout_query for ``invoice``, at the invoiced price."""
        return await self.pre_checkout(invoice.payload, telegram_id, "XTR", invoice.price_stars)

    async def order(self, order_id: int) -> Order:
        """The order as stored now."""
        async with self.session_factory() as session:
            order = await session.get(Order, order_id)
            assert order is not None
            return order

    async def count(self, model: Any) -> int:
        """Rows in ``model``'s table."""
        async with self.session_factory() as session:
            return await session.scalar(select(func.count()).select_from(model)) or 0


async def test_paid_invoice_becomes_an_owned_purchase_queued_for_delivery(
    session_factory: SessionFactory,
) -> None:
    shop = Shop(session_factory)
    await shop.shopper(ALICE)
    product_id = await shop.product(price=25)

    invoice = await shop.invoice(ALICE, product_id)
    assert (invoice.product_id, invoice.price_stars) == (product_id, 25)
    assert (invoice.title, invoice.description) == ("Sunset", "Warm light over the sea")
    assert invoice.preview_file_id == "preview-file-id"
    assert await shop.check(invoice, ALICE) == OK
    record = await shop.pay(invoice, ALICE, "charge-1")

    assert record.is_new
    assert record.product_title == "Sunset"
    assert record.purchase_id is not None
    assert record.anomalies == frozenset()
    assert await shop.queries.owns(ALICE, product_id)
    order = await shop.order(invoice.order_id)
    assert order.status is OrderStatus.PAID
    assert order.paid_at is not None
    async with session_factory() as session:
        outbox = (await session.execute(select(OutboxMessage))).scalar_one()
    assert outbox.kind == "telegram.send_original"
    assert outbox.dedup_key == f"deliver:{record.purchase_id}"
    assert outbox.payload == {"purchase_id": record.purchase_id, "chat_id": ALICE}


async def test_invoice_texts_are_cut_to_telegram_limits(session_factory: SessionFactory) -> None:
    shop = Shop(session_factory)
    await shop.shopper(ALICE)
    long_one = await shop.product(title="T" * 128, description="D" * 300)
    no_description = await shop.product(title="Dawn", description="  ")

    long_invoice = await shop.invoice(ALICE, long_one)
    bare_invoice = await shop.invoice(ALICE, no_description)

    assert long_invoice.title == "T" * 31 + "…"
    assert long_invoice.description == "D" * 254 + "…"
    assert bare_invoice.description == "Dawn"


async def test_every_invoice_gets_its_own_unguessable_payload(
    session_factory: SessionFactory,
) -> None:
    shop = Shop(session_factory)
    await shop.shopper(ALICE)
    product_id = await shop.product()

    payloads = {(await shop.invoice(ALICE, product_id)).payload for _ in range(3)}

    assert len(payloads) == 3
    assert all(len(payload) >= 32 for payload in payloads)


async def test_checkout_is_refused_to_unknown_or_blocked_users_and_unsellable_products(
    session_factory: SessionFactory,
) -> None:
    shop = Shop(session_factory)
    await shop.shopper(ALICE)
    await shop.shopper(BOB)
    ready = await shop.product()
    rendering = await shop.product(status=ProductStatus.RENDERING)
    async with session_factory() as session, session.begin():
        await session.execute(update(User).where(User.telegram_id == BOB).values(is_blocked=True))

    assert await shop.start(999, ready) is CheckoutRefusal.UNKNOWN_USER
    assert await shop.start(BOB, ready) is CheckoutRefusal.USER_BLOCKED
    assert await shop.start(ALICE, rendering) is CheckoutRefusal.PRODUCT_UNAVAILABLE
    assert await shop.start(ALICE, 424242) is CheckoutRefusal.PRODUCT_UNAVAILABLE
    assert await shop.count(Order) == 0


async def test_owner_is_refused_at_start_and_at_pre_checkout(
    session_factory: SessionFactory,
) -> None:
    shop = Shop(session_factory)
    await shop.shopper(ALICE)
    product_id = await shop.product()
    first = await shop.invoice(ALICE, product_id)
    second = await shop.invoice(ALICE, product_id)

    await shop.pay(first, ALICE, "charge-1")

    assert await shop.start(ALICE, product_id) is CheckoutRefusal.ALREADY_OWNED
    assert await shop.check(second, ALICE) == PreCheckoutVerdict(
        ok=False, reason=PreCheckoutRefusal.ALREADY_OWNED
    )


async def test_sold_out_edition_is_refused_at_start_and_at_pre_checkout(
    session_factory: SessionFactory,
) -> None:
    shop = Shop(session_factory)
    await shop.shopper(ALICE)
    await shop.shopper(BOB)
    product_id = await shop.product(edition_size=1)
    alices = await shop.invoice(ALICE, product_id)
    bobs = await shop.invoice(BOB, product_id)

    await shop.pay(alices, ALICE, "charge-1")

    assert await shop.start(BOB, product_id) is CheckoutRefusal.SOLD_OUT
    assert await shop.check(bobs, BOB) == PreCheckoutVerdict(
        ok=False, reason=PreCheckoutRefusal.SOLD_OUT
    )


async def test_expired_order_is_refused_and_marked_expired(
    session_factory: SessionFactory,
) -> None:
    shop = Shop(session_factory, ttl=timedelta(seconds=-1))
    await shop.shopper(ALICE)
    invoice = await shop.invoice(ALICE, await shop.product())

    expired = PreCheckoutVerdict(ok=False, reason=PreCheckoutRefusal.EXPIRED)
    assert await shop.check(invoice, ALICE) == expired
    assert (await shop.order(invoice.order_id)).status is OrderStatus.EXPIRED
    assert await shop.check(invoice, ALICE) == expired


async def test_changed_price_or_withdrawn_product_is_refused_at_pre_checkout(
    session_factory: SessionFactory,
) -> None:
    shop = Shop(session_factory)
    await shop.shopper(ALICE)
    product_id = await shop.product(price=10)
    invoice = await shop.invoice(ALICE, product_id)

    await shop.change(Product, product_id, price_stars=12)
    repriced = await shop.check(invoice, ALICE)
    await shop.change(Product, product_id, price_stars=10, status=ProductStatus.ARCHIVED)
    withdrawn = await shop.check(invoice, ALICE)

    assert repriced == PreCheckoutVerdict(ok=False, reason=PreCheckoutRefusal.PRICE_CHANGED)
    assert withdrawn == PreCheckoutVerdict(ok=False, reason=PreCheckoutRefusal.PRODUCT_UNAVAILABLE)
    assert (await shop.order(invoice.order_id)).status is OrderStatus.PENDING


async def test_another_users_payload_is_refused_like_a_made_up_one(
    session_factory: SessionFactory,
) -> None:
    shop = Shop(session_factory)
    await shop.shopper(ALICE)
    await shop.shopper(BOB)
    alices = await shop.invoice(ALICE, await shop.product())

    stolen = await shop.check(alices, BOB)
    made_up = await shop.pre_checkout("no-such-payload", BOB, "XTR", alices.price_stars)

    assert (
        stolen == made_up == PreCheckoutVerdict(ok=False, reason=PreCheckoutRefusal.UNKNOWN_ORDER)
    )
    assert await shop.check(alices, ALICE) == OK


@pytest.mark.parametrize(
    ("currency", "amount_delta", "reason"),
    [
        ("USD", 0, PreCheckoutRefusal.WRONG_CURRENCY),
        ("XTR", 1, PreCheckoutRefusal.WRONG_AMOUNT),
        ("XTR", -1, PreCheckoutRefusal.WRONG_AMOUNT),
    ],
)
async def test_wrong_currency_or_amount_is_refused(
    session_factory: SessionFactory, currency: str, amount_delta: int, reason: PreCheckoutRefusal
) -> None:
    shop = Shop(session_factory)
    await shop.shopper(ALICE)
    invoice = await shop.invoice(ALICE, await shop.product(price=10))

    verdict = await shop.pre_checkout(invoice.payload, ALICE, currency, 10 + amount_delta)

    assert verdict == PreCheckoutVerdict(ok=False, reason=reason)


async def test_pre_checkout_of_an_unlimited_product_costs_two_queries(
    session_factory: SessionFactory, engine: AsyncEngine
) -> None:
    shop = Shop(session_factory)
    await shop.shopper(ALICE)
    invoice = await shop.invoice(ALICE, await shop.product())
    statements: list[str] = []

    def remember(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", remember)
    try:
        assert await shop.check(invoice, ALICE) == OK
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", remember)

    assert len(statements) == 2, statements
