"""Limited editions: a pre-checkout that says yes holds the copy, so the last copy is sold
once however shoppers race for it; a hold runs out, or is given back, and frees the copy."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.test_checkout import ALICE, BOB, OK, Shop
from vitrina_common.db.models import OrderStatus
from vitrina_common.services.checkout import (
    CheckoutRefusal,
    PreCheckoutRefusal,
    PreCheckoutVerdict,
)

pytestmark = pytest.mark.postgres

SessionFactory = async_sessionmaker[AsyncSession]
SOLD_OUT = PreCheckoutVerdict(ok=False, reason=PreCheckoutRefusal.SOLD_OUT)


async def test_a_yes_holds_the_last_copy_against_everyone_else(
    session_factory: SessionFactory,
) -> None:
    shop = Shop(session_factory)
    await shop.shopper(ALICE)
    await shop.shopper(BOB)
    product_id = await shop.product(edition_size=1)
    alices, bobs = await shop.invoice(ALICE, product_id), await shop.invoice(BOB, product_id)

    assert await shop.check(alices, ALICE) == OK
    assert await shop.check(bobs, BOB) == SOLD_OUT
    assert await shop.start(BOB, product_id) is CheckoutRefusal.SOLD_OUT
    order = await shop.order(alices.order_id)
    assert order.status is OrderStatus.RESERVED
    assert order.reserved_until is not None


async def test_the_holder_may_confirm_again_and_pays_for_the_held_copy(
    session_factory: SessionFactory,
) -> None:
    shop = Shop(session_factory)
    await shop.shopper(ALICE)
    product_id = await shop.product(edition_size=1)
    invoice = await shop.invoice(ALICE, product_id)

    assert await shop.check(invoice, ALICE) == OK
    assert await shop.check(invoice, ALICE) == OK  # a second try of the same payment
    record = await shop.pay(invoice, ALICE, "charge-1")

    assert record.refusal is None
    order = await shop.order(invoice.order_id)
    assert (order.status, order.reserved_until) == (OrderStatus.PAID, None)


async def test_a_hold_that_ran_out_frees_the_copy(session_factory: SessionFactory) -> None:
    shop = Shop(session_factory, reservation=timedelta(seconds=-1))
    await shop.shopper(ALICE)
    await shop.shopper(BOB)
    product_id = await shop.product(edition_size=1)
    alices, bobs = await shop.invoice(ALICE, product_id), await shop.invoice(BOB, product_id)

    assert await shop.check(alices, ALICE) == OK

    assert await shop.check(bobs, BOB) == OK


async def test_a_released_hold_frees_the_copy_at_once(session_factory: SessionFactory) -> None:
    shop = Shop(session_factory)
    await shop.shopper(ALICE)
    await shop.shopper(BOB)
    product_id = await shop.product(edition_size=1)
    alices, bobs = await shop.invoice(ALICE, product_id), await shop.invoice(BOB, product_id)
    assert await shop.check(alices, ALICE) == OK

    assert await shop.release(alices.payload)

    assert (await shop.order(alices.order_id)).status is OrderStatus.PENDING
    assert await shop.check(bobs, BOB) == OK


async def test_two_shoppers_racing_for_the_last_copy_get_one_yes_every_time(
    session_factory: SessionFactory,
) -> None:
    shop = Shop(session_factory)
    await shop.shopper(ALICE)
    await shop.shopper(BOB)
    products = [await shop.product(edition_size=1, title=f"Print {n}") for n in range(20)]
    pairs = [(await shop.invoice(ALICE, p), await shop.invoice(BOB, p)) for p in products]

    verdicts = await asyncio.gather(
        *(
            check
            for alices, bobs in pairs
            for check in (shop.check(alices, ALICE), shop.check(bobs, BOB))
        )
    )

    for round_ in range(20):
        pair = verdicts[2 * round_ : 2 * round_ + 2]
        assert sorted(v.ok for v in pair) == [False, True], pair
        assert SOLD_OUT in pair


async def test_an_unlimited_product_holds_nothing(session_factory: SessionFactory) -> None:
    shop = Shop(session_factory)
    await shop.shopper(ALICE)
    invoice = await shop.invoice(ALICE, await shop.product())

    assert await shop.check(invoice, ALICE) == OK

    assert (await shop.order(invoice.order_id)).status is OrderStatus.PENDING
