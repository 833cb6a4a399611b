"""Successful payments: recorded once per charge, since the Stars are taken; delivered, or
refused and queued for an automatic refund when no copy can be delivered for them."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.test_checkout import ALICE, BOB, OK, Shop
from vitrina_common.db.models import (
    OrderStatus,
    OutboxMessage,
    Product,
    Purchase,
    RefusalReason,
    RefusedCharge,
)
from vitrina_common.services.checkout import REFUND_CHARGE, PaymentAnomaly

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


async def test_payment_is_delivered_at_the_invoiced_price_when_the_price_changed(
    session_factory: SessionFactory,
) -> None:
    shop = Shop(session_factory)
    await shop.shopper(ALICE)
    product_id = await shop.product(price=10)
    invoice = await shop.invoice(ALICE, product_id)
    await shop.change(Product, product_id, price_stars=30)

    record = await shop.pay(invoice, ALICE, "charge-1")

    assert record.anomalies == {PaymentAnomaly.PRICE_CHANGED}
    assert record.purchase_id is not None
    async with session_factory() as session:
        purchase = await session.get(Purchase, record.purchase_id)
    assert purchase is not None
    assert purchase.price_stars == 10


async def refused(shop: Shop) -> list[RefusedCharge]:
    async with shop.session_factory() as session:
        return list((await session.execute(select(RefusedCharge))).scalars())


async def refunds_queued(shop: Shop) -> list[dict[str, object]]:
    async with shop.session_factory() as session:
        rows = await session.execute(
            select(OutboxMessage.payload).where(OutboxMessage.kind == REFUND_CHARGE)
        )
        return list(rows.scalars())


async def test_amount_other_than_the_order_is_refused_and_refunded(
    session_factory: SessionFactory,
) -> None:
    shop = Shop(session_factory)
    await shop.shopper(ALICE)
    invoice = await shop.invoice(ALICE, await shop.product(price=10))

    record = await shop.paid(invoice.payload, ALICE, "charge-1", 11)

    assert (record.is_new, record.refusal, record.purchase_id) == (
        True,
        RefusalReason.AMOUNT_MISMATCH,
        None,
    )
    [charge] = await refused(shop)
    assert (charge.amount, charge.order_id) == (11, invoice.order_id)
    assert await refunds_queued(shop) == [{"refused_charge_id": charge.id}]
    assert await shop.count(Purchase) == 0


async def test_second_charge_for_a_paid_order_is_refunded_not_delivered(
    session_factory: SessionFactory,
) -> None:
    shop = Shop(session_factory)
    await shop.shopper(ALICE)
    invoice = await shop.invoice(ALICE, await shop.product())

    first = await shop.pay(invoice, ALICE, "charge-1")
    second = await shop.pay(invoice, ALICE, "charge-2")
    again = await shop.pay(invoice, ALICE, "charge-2")

    assert first.refusal is None
    assert second.refusal is RefusalReason.ORDER_ALREADY_PAID
    assert not again.is_new
    assert again.refusal is RefusalReason.ORDER_ALREADY_PAID
    assert await shop.count(Purchase) == 1
    assert len(await refunds_queued(shop)) == 1
    assert (await shop.order(invoice.order_id)).status is OrderStatus.PAID


async def test_a_copy_the_shopper_owns_already_is_refunded(
    session_factory: SessionFactory,
) -> None:
    shop = Shop(session_factory)
    await shop.shopper(ALICE)
    product_id = await shop.product()
    first, second = await shop.invoice(ALICE, product_id), await shop.invoice(ALICE, product_id)

    await shop.pay(first, ALICE, "charge-1")
    record = await shop.pay(second, ALICE, "charge-2")

    assert record.refusal is RefusalReason.ALREADY_OWNED
    assert (await shop.order(second.order_id)).status is OrderStatus.CANCELLED


async def test_payment_for_a_sold_out_edition_is_refunded(session_factory: SessionFactory) -> None:
    shop = Shop(session_factory, reservation=timedelta(seconds=-1))
    await shop.shopper(ALICE)
    await shop.shopper(BOB)
    product_id = await shop.product(edition_size=1)
    alices, bobs = await shop.invoice(ALICE, product_id), await shop.invoice(BOB, product_id)
    # Both passed pre-checkout (Alice's hold ran out before Bob's), then both paid.
    assert await shop.check(alices, ALICE) == await shop.check(bobs, BOB) == OK

    delivered = await shop.pay(alices, ALICE, "charge-1")
    late = await shop.pay(bobs, BOB, "charge-2")

    assert delivered.refusal is None
    assert late.refusal is RefusalReason.SOLD_OUT
    assert await shop.count(Purchase) == 1


async def test_payment_without_a_hold_is_refused_while_others_hold_the_copies(
    session_factory: SessionFactory,
) -> None:
    shop = Shop(session_factory)
    await shop.shopper(ALICE)
    await shop.shopper(BOB)
    product_id = await shop.product(edition_size=1)
    alices, bobs = await shop.invoice(ALICE, product_id), await shop.invoice(BOB, product_id)
    assert await shop.check(alices, ALICE) == OK

    # Bob's payment arrives with no pre-checkout of his own (or one that ran out).
    late = await shop.pay(bobs, BOB, "charge-2")
    held = await shop.pay(alices, ALICE, "charge-1")

    assert late.refusal is RefusalReason.SOLD_OUT
    assert held.refusal is None


async def test_payment_naming_no_order_of_the_payer_is_refunded(
    session_factory: SessionFactory,
) -> None:
    shop = Shop(session_factory)
    await shop.shopper(ALICE)
    await shop.shopper(BOB)
    alices = await shop.invoice(ALICE, await shop.product())

    made_up = await shop.paid("no-such-payload", ALICE, "charge-x", 10)
    stolen = await shop.pay(alices, BOB, "charge-y")

    assert made_up.refusal is stolen.refusal is RefusalReason.UNKNOWN_ORDER
    assert {(c.telegram_user_id, c.order_id) for c in await refused(shop)} == {
        (ALICE, None),
        (BOB, None),
    }
    assert await shop.count(Purchase) == 0
    assert (await shop.order(alices.order_id)).status is OrderStatus.PENDING
