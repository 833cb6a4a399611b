"""After payment: my purchases, downloads, delivery of the original, refunds."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.test_checkout import ALICE, BOB, Shop
from vitrina_common.db.models import Language, Product, Purchase, PurchaseStatus
from vitrina_common.services.checkout import (
    CheckoutRefusal,
    DeliveryQueries,
    Invoice,
    RefundPurchase,
    RefundRefusal,
    RefundTarget,
)

pytestmark = pytest.mark.postgres

SessionFactory = async_sessionmaker[AsyncSession]


async def bought(
    shop: Shop, telegram_id: int, charge_id: str, *, title: str = "Sunset", price: int = 10
) -> int:
    """A new product ``telegram_id`` paid for; returns the purchase id."""
    invoice = await shop.invoice(telegram_id, await shop.product(title=title, price=price))
    return await shop.bought(invoice, telegram_id, charge_id)


async def test_refund_prepare_then_confirm_revokes_the_download(
    session_factory: SessionFactory,
) -> None:
    shop = Shop(session_factory)
    refund = RefundPurchase(session_factory)
    await shop.shopper(ALICE)
    purchase_id = await bought(shop, ALICE, "charge-1", price=40, title="Harbour")
    assert await shop.queries.downloadable(ALICE, purchase_id) is not None

    target = await refund.prepare(purchase_id)
    confirmed = await refund.confirm(purchase_id)

    assert (
        target
        == confirmed
        == RefundTarget(
            purchase_id=purchase_id,
            telegram_user_id=ALICE,
            telegram_payment_charge_id="charge-1",
            product_title="Harbour",
            price_stars=40,
            language=Language.EN,
        )
    )
    assert await shop.queries.downloadable(ALICE, purchase_id) is None
    assert await shop.queries.list_for_user(ALICE, 0, 10) == ([], 0)
    assert await refund.prepare(purchase_id) is RefundRefusal.ALREADY_REFUNDED


async def test_confirming_a_refund_again_changes_nothing(session_factory: SessionFactory) -> None:
    shop = Shop(session_factory)
    refund = RefundPurchase(session_factory)
    await shop.shopper(ALICE)
    purchase_id = await bought(shop, ALICE, "charge-1")
    first = await refund.confirm(purchase_id)
    async with session_factory() as session:
        before = await session.get(Purchase, purchase_id)

    again = await refund.confirm(purchase_id)

    async with session_factory() as session:
        after = await session.get(Purchase, purchase_id)
    assert again == first
    assert before is not None
    assert after is not None
    assert after.status is PurchaseStatus.REFUNDED
    assert after.refunded_at == before.refunded_at is not None
    assert after.updated_at == before.updated_at


async def test_refund_of_an_unknown_purchase_is_refused(session_factory: SessionFactory) -> None:
    refund = RefundPurchase(session_factory)

    assert await refund.prepare(424242) is RefundRefusal.NOT_FOUND
    with pytest.raises(LookupError):
        await refund.confirm(424242)


async def test_refunded_product_can_be_bought_again(session_factory: SessionFactory) -> None:
    shop = Shop(session_factory)
    await shop.shopper(ALICE)
    product_id = await shop.product(edition_size=1)
    invoice = await shop.invoice(ALICE, product_id)
    purchase_id = await shop.bought(invoice, ALICE, "charge-1")
    assert await shop.start(ALICE, product_id) is CheckoutRefusal.ALREADY_OWNED

    await RefundPurchase(session_factory).confirm(purchase_id)

    assert not await shop.queries.owns(ALICE, product_id)
    assert isinstance(await shop.start(ALICE, product_id), Invoice)


async def test_forged_purchase_id_of_another_user_downloads_nothing(
    session_factory: SessionFactory,
) -> None:
    shop = Shop(session_factory)
    await shop.shopper(ALICE)
    await shop.shopper(BOB)
    alices = await bought(shop, ALICE, "charge-1")

    assert await shop.queries.downloadable(BOB, alices) is None
    assert await shop.queries.downloadable(BOB, 424242) is None
    download = await shop.queries.downloadable(ALICE, alices)
    assert download is not None
    assert (download.original_key, download.original_mime) == ("ab" * 32, "image/jpeg")


async def test_owner_downloads_by_product_and_others_get_nothing(
    session_factory: SessionFactory,
) -> None:
    shop = Shop(session_factory)
    await shop.shopper(ALICE)
    await shop.shopper(BOB)
    purchase_id = await bought(shop, ALICE, "charge-1", title="Harbour")
    product_id = (await shop.queries.list_for_user(ALICE, 0, 1))[0][0].product_id

    download = await shop.queries.downloadable_product(ALICE, product_id)

    assert download is not None
    assert (download.purchase_id, download.title) == (purchase_id, "Harbour")
    assert await shop.queries.downloadable_product(BOB, product_id) is None


async def test_purchase_list_pages_newest_first_with_the_total(
    session_factory: SessionFactory,
) -> None:
    shop = Shop(session_factory)
    await shop.shopper(ALICE)
    await shop.shopper(BOB)
    ids = [await bought(shop, ALICE, f"charge-{n}", title=f"Image {n}") for n in range(5)]
    await bought(shop, BOB, "charge-bob")

    pages = [await shop.queries.list_for_user(ALICE, offset, 2) for offset in (0, 2, 4, 6)]

    assert [total for _, total in pages] == [5, 5, 5, 5]
    listed = [item.purchase_id for items, _ in pages for item in items]
    assert listed == ids[::-1]
    assert [item.title for item in pages[0][0]] == ["Image 4", "Image 3"]
    assert pages[3][0] == []


async def test_delivery_target_names_the_buyers_chat_and_skips_refunded_purchases(
    session_factory: SessionFactory,
) -> None:
    shop = Shop(session_factory)
    delivery = DeliveryQueries(session_factory)
    await shop.shopper(ALICE)
    purchase_id = await bought(shop, ALICE, "charge-1", title="Harbour")

    target = await delivery.delivery_target(purchase_id)
    await RefundPurchase(session_factory).confirm(purchase_id)

    assert target is not None
    assert target.chat_id == ALICE
    assert (target.download.title, target.download.original_file_id) == ("Harbour", None)
    assert await delivery.delivery_target(purchase_id) is None
    assert await delivery.delivery_target(424242) is None


async def test_original_file_id_is_cached_only_once(session_factory: SessionFactory) -> None:
    shop = Shop(session_factory)
    delivery = DeliveryQueries(session_factory)
    product_id = await shop.product()

    assert await delivery.cache_original_file_id(product_id, "first")
    assert not await delivery.cache_original_file_id(product_id, "second")

    async with session_factory() as session:
        product = await session.get(Product, product_id)
    assert product is not None
    assert product.original_file_id == "first"
