"""Limited editions with a waitlist, on a real Postgres: shoppers queue for a sold-out
edition, a freed copy (a refund, a larger edition) is reserved for the first in line, only
they can buy it, an offer not bought in time goes to the next, and however many shoppers
race, no more copies are delivered than the edition has."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.waitlist_shop import ADMIN, HOLD, WaitlistShop
from vitrina_common.db.models import (
    OutboxMessage,
    RefusalReason,
    RefusedCharge,
    ReservationState,
    User,
)
from vitrina_common.services.checkout import (
    REFUND_CHARGE,
    CheckoutRefusal,
    Invoice,
    PreCheckoutRefusal,
)
from vitrina_common.services.waitlist.admin import AdminWaitlistRefusal
from vitrina_common.services.waitlist.shopper import WaitlistRefusal

pytestmark = pytest.mark.postgres

SessionFactory = async_sessionmaker[AsyncSession]
BUYER, FIRST, SECOND, THIRD = 100, 101, 102, 103
OFFERED, EXPIRED, BOUGHT = (
    ReservationState.OFFERED,
    ReservationState.EXPIRED,
    ReservationState.BOUGHT,
)


async def sold_out_edition_with_a_line(shop: WaitlistShop) -> tuple[int, int]:
    """An edition of 1 bought by BUYER, FIRST, SECOND and THIRD in line in that order;
    the product's id and the purchase's."""
    for shopper in (BUYER, FIRST, SECOND, THIRD):
        await shop.shopper(shopper)
    product_id = await shop.product(edition_size=1)
    purchase_id = await shop.buy(BUYER, product_id, "charge-buyer")
    for position, shopper in enumerate((FIRST, SECOND, THIRD), start=1):
        assert await shop.start(shopper, product_id) is CheckoutRefusal.SOLD_OUT
        assert await shop.waitlist.join(shopper, product_id) == position
    return product_id, purchase_id


async def test_a_freed_copy_goes_down_the_line_and_a_larger_edition_serves_the_rest(
    session_factory: SessionFactory,
) -> None:
    shop = WaitlistShop(session_factory)
    product_id, purchase_id = await sold_out_edition_with_a_line(shop)

    await shop.refunds.confirm(purchase_id)
    assert await shop.offers(product_id) == {FIRST: OFFERED}
    assert await shop.start(SECOND, product_id) is CheckoutRefusal.RESERVED
    second = await shop.waitlist.status(SECOND, product_id)
    assert second is not None
    assert (second.left, second.position, second.offer_id) == (0, 1, None)

    await shop.let_time_pass(HOLD - timedelta(minutes=1))
    assert await shop.offers(product_id) == {FIRST: OFFERED}
    await shop.let_time_pass(timedelta(minutes=2))
    assert await shop.offers(product_id) == {FIRST: EXPIRED, SECOND: OFFERED}
    assert await shop.start(FIRST, product_id) is CheckoutRefusal.RESERVED

    assert await shop.admin.resize_edition(ADMIN, product_id, "3") == 1
    assert await shop.offers(product_id) == {FIRST: EXPIRED, SECOND: OFFERED, THIRD: OFFERED}
    # Three copies, two reserved: the third is on sale to anyone, FIRST included.
    assert isinstance(await shop.start(FIRST, product_id), Invoice)


async def test_only_the_reserved_shopper_can_buy_the_copy_and_a_slipped_payment_is_refunded(
    session_factory: SessionFactory,
) -> None:
    shop = WaitlistShop(session_factory)
    for shopper in (BUYER, FIRST, SECOND):
        await shop.shopper(shopper)
    product_id = await shop.product(edition_size=1)
    # SECOND's invoice was issued while a copy was still there.
    seconds = await shop.invoice(SECOND, product_id)
    purchase_id = await shop.buy(BUYER, product_id, "charge-buyer")
    assert await shop.waitlist.join(FIRST, product_id) == 1
    await shop.refunds.confirm(purchase_id)

    refused = await shop.check(seconds, SECOND)
    record = await shop.pay(seconds, SECOND, "charge-slipped")

    assert refused.reason is PreCheckoutRefusal.RESERVED
    assert record.refusal is RefusalReason.SOLD_OUT
    async with session_factory() as session:
        refunds = await session.scalar(
            select(func.count()).where(OutboxMessage.kind == REFUND_CHARGE)
        )
    assert refunds == 1
    firsts = await shop.invoice(FIRST, product_id)
    assert (await shop.check(firsts, FIRST)).ok
    assert await shop.offers(product_id) == {FIRST: BOUGHT}
    await shop.bought(firsts, FIRST, "charge-first")
    assert await shop.paid_copies(product_id) == 1
    assert await shop.waitlist.status(FIRST, product_id) is not None


async def test_a_taken_over_offer_is_not_expired_and_a_bought_copy_frees_nothing(
    session_factory: SessionFactory,
) -> None:
    shop = WaitlistShop(session_factory)
    product_id, purchase_id = await sold_out_edition_with_a_line(shop)
    await shop.refunds.confirm(purchase_id)
    await shop.buy(FIRST, product_id, "charge-first")

    await shop.let_time_pass(HOLD + timedelta(hours=1))

    assert await shop.offers(product_id) == {FIRST: BOUGHT}
    second = await shop.waitlist.status(SECOND, product_id)
    assert second is not None
    assert (second.left, second.position) == (0, 1)


async def test_leaving_the_line_or_declining_an_offer_passes_it_on(
    session_factory: SessionFactory,
) -> None:
    shop = WaitlistShop(session_factory)
    product_id, purchase_id = await sold_out_edition_with_a_line(shop)
    assert await shop.waitlist.leave(SECOND, product_id)
    third = await shop.waitlist.status(THIRD, product_id)
    assert third is not None
    assert third.position == 2

    await shop.refunds.confirm(purchase_id)
    assert await shop.waitlist.leave(FIRST, product_id)

    assert await shop.offers(product_id) == {
        FIRST: ReservationState.CANCELLED,
        THIRD: OFFERED,
    }


async def test_joining_is_for_sold_out_editions_only(session_factory: SessionFactory) -> None:
    shop = WaitlistShop(session_factory)
    for shopper in (BUYER, FIRST):
        await shop.shopper(shopper)
    limited = await shop.product(edition_size=2)
    unlimited = await shop.product()
    await shop.buy(BUYER, limited, "charge-buyer")

    assert await shop.waitlist.join(FIRST, limited) is WaitlistRefusal.COPIES_LEFT
    assert await shop.waitlist.join(BUYER, limited) is WaitlistRefusal.ALREADY_OWNED
    assert await shop.waitlist.join(FIRST, unlimited) is WaitlistRefusal.NOT_AVAILABLE
    assert await shop.waitlist.join(FIRST, 10**9) is WaitlistRefusal.NOT_AVAILABLE
    assert await shop.waitlist.join(999, limited) is WaitlistRefusal.UNKNOWN_USER


async def test_an_offer_is_claimed_by_its_shopper_only(session_factory: SessionFactory) -> None:
    shop = WaitlistShop(session_factory)
    product_id, purchase_id = await sold_out_edition_with_a_line(shop)
    await shop.refunds.confirm(purchase_id)
    offer = await shop.waitlist.status(FIRST, product_id)
    assert offer is not None
    assert offer.offer_id is not None

    assert await shop.waitlist.claim(FIRST, offer.offer_id) == product_id
    assert await shop.waitlist.claim(SECOND, offer.offer_id) is WaitlistRefusal.NO_OFFER
    assert await shop.waitlist.claim(FIRST, 10**12) is WaitlistRefusal.NO_OFFER
    await shop.let_time_pass(HOLD)
    assert await shop.waitlist.claim(FIRST, offer.offer_id) is WaitlistRefusal.OFFER_ENDED


async def test_the_admin_reorders_the_line_and_reads_the_log(
    session_factory: SessionFactory,
) -> None:
    shop = WaitlistShop(session_factory)
    product_id, purchase_id = await sold_out_edition_with_a_line(shop)
    line = await shop.admin.line(ADMIN, product_id, 0, 10)
    assert not isinstance(line, AdminWaitlistRefusal)
    third = line.items[2].entry_id

    assert await shop.admin.move(ADMIN, third, up=True) is None
    assert await shop.admin.move(ADMIN, line.items[0].entry_id, up=True) is (
        AdminWaitlistRefusal.AT_EDGE
    )
    assert await shop.admin.remove(ADMIN, line.items[0].entry_id) is None
    assert await shop.admin.move(FIRST, third, up=True) is AdminWaitlistRefusal.NOT_ADMIN
    assert await shop.admin.line(SECOND, product_id, 0, 10) is AdminWaitlistRefusal.NOT_ADMIN
    assert await shop.admin.remove(ADMIN, 10**12) is AdminWaitlistRefusal.NOT_FOUND
    reordered = await shop.admin.line(ADMIN, product_id, 0, 10)
    assert not isinstance(reordered, AdminWaitlistRefusal)
    assert [(i.position, i.telegram_id) for i in reordered.items] == [(1, THIRD), (2, SECOND)]

    await shop.refunds.confirm(purchase_id)
    log = await shop.admin.log(ADMIN, product_id, 0, 10)
    assert not isinstance(log, AdminWaitlistRefusal)
    assert [(i.telegram_id, i.state, i.cause.value) for i in log.items] == [
        (THIRD, OFFERED, "refund")
    ]


async def test_an_edition_cannot_shrink_below_the_copies_taken(
    session_factory: SessionFactory,
) -> None:
    shop = WaitlistShop(session_factory)
    product_id, _ = await sold_out_edition_with_a_line(shop)
    await shop.admin.resize_edition(ADMIN, product_id, "2")

    assert await shop.admin.resize_edition(ADMIN, product_id, "1") is (
        AdminWaitlistRefusal.BELOW_TAKEN
    )
    assert await shop.admin.resize_edition(ADMIN, product_id, "0") is AdminWaitlistRefusal.SIZE
    assert await shop.admin.resize_edition(ADMIN, product_id, "ten") is AdminWaitlistRefusal.SIZE
    assert await shop.admin.resize_edition(FIRST, product_id, "5") is (
        AdminWaitlistRefusal.NOT_ADMIN
    )


async def test_fifty_concurrent_buyers_never_get_more_copies_than_the_edition(
    session_factory: SessionFactory,
) -> None:
    shop = WaitlistShop(session_factory)
    product_id, purchase_id = await sold_out_edition_with_a_line(shop)
    await shop.refunds.confirm(purchase_id)  # FIRST holds the only copy
    await shop.admin.resize_edition(ADMIN, product_id, "6")  # SECOND, THIRD + 3 for anyone
    racers = list(range(5000, 5050))
    for shopper in racers:
        await shop.shopper(shopper)

    async def attempt(shopper: int) -> None:
        invoice = await shop.start(shopper, product_id)
        if not isinstance(invoice, Invoice):
            return
        await shop.check(invoice, shopper)
        # Telegram charges even when it should not have: the payment must still be judged.
        await shop.pay(invoice, shopper, f"race-{shopper}")

    async def reserved(shopper: int) -> None:
        await shop.buy(shopper, product_id, f"reserved-{shopper}")

    await asyncio.gather(
        *(attempt(shopper) for shopper in racers),
        *(reserved(shopper) for shopper in (FIRST, SECOND, THIRD)),
    )

    assert await shop.paid_copies(product_id) == 6
    async with session_factory() as session:
        refused = await session.scalar(
            select(func.count()).where(RefusedCharge.product_id == product_id)
        )
        refunds = await session.scalar(
            select(func.count()).where(OutboxMessage.kind == REFUND_CHARGE)
        )
    # Every payment that found no copy is refused, and each refusal queues its refund.
    assert refused == refunds


async def test_an_offer_taken_over_by_a_yes_that_never_left_is_the_shoppers_again(
    session_factory: SessionFactory,
) -> None:
    shop = WaitlistShop(session_factory)
    product_id, purchase_id = await sold_out_edition_with_a_line(shop)
    await shop.refunds.confirm(purchase_id)
    firsts = await shop.invoice(FIRST, product_id)
    assert (await shop.check(firsts, FIRST)).ok

    assert await shop.release(firsts.payload)

    assert await shop.offers(product_id) == {FIRST: OFFERED}
    assert await shop.start(SECOND, product_id) is CheckoutRefusal.RESERVED
    assert (await shop.check(firsts, FIRST)).ok


async def test_a_banned_shopper_in_line_is_passed_over(session_factory: SessionFactory) -> None:
    shop = WaitlistShop(session_factory)
    product_id, purchase_id = await sold_out_edition_with_a_line(shop)
    await shop.change(User, await shop.user_id(FIRST), is_banned=True)

    await shop.refunds.confirm(purchase_id)

    assert await shop.offers(product_id) == {SECOND: OFFERED}
