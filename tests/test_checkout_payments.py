"""Successful payments: recorded once per charge, and always, since the Stars are taken."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.test_checkout import ALICE, BOB, OK, Shop
from vitrina_common.db.models import Order, OrderStatus, OutboxMessage, Product, Purchase
from vitrina_common.services.checkout import PaymentAnomaly, UnknownOrderPaymentError

pytestmark = pytest.mark.postgres

SessionFactory = async_sessionmaker[AsyncSession]


async def test_same_successful_payment_twice_records_one_purchase(
    session_factory: SessionFactory,
) -> None:
    shop = Shop(session_factory)
    await shop.shopper(ALICE)
    invoice = await shop.invoice(ALICE, await shop.product())

    first = await shop.pay(invoice, ALICE, "charge-1")
    again = await shop.pay(invoice, ALICE, "charge-1")

    assert first.is_new
    assert not again.is_new
    assert again.purchase_id == first.purchase_id
    assert await shop.count(Purchase) == 1
    assert await shop.count(OutboxMessage) == 1


async def test_concurrent_identical_payments_record_one_purchase(
    session_factory: SessionFactory,
) -> None:
    shop = Shop(session_factory)
    await shop.shopper(ALICE)
    invoice = await shop.invoice(ALICE, await shop.product())

    records = await asyncio.gather(*(shop.pay(invoice, ALICE, "charge-1") for _ in range(5)))

    assert sum(record.is_new for record in records) == 1
    assert len({record.purchase_id for record in records}) == 1
    assert await shop.count(Purchase) == 1
    assert await shop.count(OutboxMessage) == 1


async def test_payment_is_recorded_even_when_the_order_had_expired(
    session_factory: SessionFactory,
) -> None:
    shop = Shop(session_factory, ttl=timedelta(seconds=-1))
    await shop.shopper(ALICE)
    product_id = await shop.product()
    invoice = await shop.invoice(ALICE, product_id)
    assert not (await shop.check(invoice, ALICE)).ok

    record = await shop.pay(invoice, ALICE, "charge-1")

    assert record.is_new
    assert record.anomalies == {PaymentAnomaly.ORDER_EXPIRED}
    assert (await shop.order(invoice.order_id)).status is OrderStatus.PAID
    assert await shop.queries.owns(ALICE, product_id)


async def test_payment_is_recorded_at_the_amount_paid_when_the_price_changed(
    session_factory: SessionFactory,
) -> None:
    shop = Shop(session_factory)
    await shop.shopper(ALICE)
    product_id = await shop.product(price=10)
    invoice = await shop.invoice(ALICE, product_id)
    await shop.change(Product, product_id, price_stars=30)

    record = await shop.record(invoice.payload, ALICE, "charge-1", 11, "XTR")

    assert record.anomalies == {PaymentAnomaly.PRICE_CHANGED, PaymentAnomaly.AMOUNT_MISMATCH}
    async with session_factory() as session:
        purchase = await session.get(Purchase, record.purchase_id)
    assert purchase is not None
    assert purchase.price_stars == 11


async def test_second_charge_for_a_paid_order_becomes_a_second_purchase(
    session_factory: SessionFactory,
) -> None:
    shop = Shop(session_factory)
    await shop.shopper(ALICE)
    invoice = await shop.invoice(ALICE, await shop.product())

    first = await shop.pay(invoice, ALICE, "charge-1")
    second = await shop.pay(invoice, ALICE, "charge-2")

    assert second.is_new
    assert second.purchase_id != first.purchase_id
    assert second.anomalies == {PaymentAnomaly.ORDER_ALREADY_PAID, PaymentAnomaly.ALREADY_OWNED}
    assert await shop.count(Purchase) == 2
    assert await shop.count(OutboxMessage) == 2
    assert await shop.count(Order) == 2  # the second charge holds an order of its own


async def test_oversold_edition_is_recorded_and_flagged(session_factory: SessionFactory) -> None:
    shop = Shop(session_factory)
    await shop.shopper(ALICE)
    await shop.shopper(BOB)
    product_id = await shop.product(edition_size=1)
    alices, bobs = await shop.invoice(ALICE, product_id), await shop.invoice(BOB, product_id)
    # Both passed pre-checkout before either payment arrived.
    assert await shop.check(alices, ALICE) == await shop.check(bobs, BOB) == OK

    await shop.pay(alices, ALICE, "charge-1")
    late = await shop.pay(bobs, BOB, "charge-2")

    assert late.is_new
    assert late.anomalies == {PaymentAnomaly.EDITION_OVERSOLD}


async def test_payment_naming_no_order_of_the_payer_raises(
    session_factory: SessionFactory,
) -> None:
    shop = Shop(session_factory)
    await shop.shopper(ALICE)
    await shop.shopper(BOB)
    alices = await shop.invoice(ALICE, await shop.product())

    with pytest.raises(UnknownOrderPaymentError, match="charge-x"):
        await shop.record("no-such-payload", ALICE, "charge-x", 10, "XTR")
    with pytest.raises(UnknownOrderPaymentError, match="refund"):
        await shop.pay(alices, BOB, "charge-y")
    assert await shop.count(Purchase) == 0
