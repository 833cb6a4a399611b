"""The admin's product and category use cases against a real Postgres: edits, archive and
restore, re-render through the outbox, delete only when unsold, categories in shop order."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.test_checkout import ALICE, Shop
from vitrina_bot.i18n.catalog import load_catalogs
from vitrina_common.db.models import Category, Language, OutboxMessage, Product, ProductStatus
from vitrina_common.messaging.contracts import PreviewReady, RenderPreviewJob
from vitrina_common.repositories.categories import CategoryRepository
from vitrina_common.services.admin_categories import AdminCategories, CategoryRefusal, NotEmpty
from vitrina_common.services.admin_products import AdminProducts, ProductRefusal, parse_price
from vitrina_common.services.admin_products_lifecycle import (
    RESTORED_WITHOUT_PREVIEW,
    DeleteBlocked,
    ProductLifecycle,
)
from vitrina_common.services.browse import Browse
from vitrina_common.services.checkout import PreCheckoutRefusal

pytestmark = pytest.mark.postgres

SessionFactory = async_sessionmaker[AsyncSession]
SHA = "ab" * 32


async def _product(sessions: SessionFactory, product_id: int) -> Product:
    async with sessions() as session:
        product = await session.get(Product, product_id)
        assert product is not None
        return product


async def _render_jobs(sessions: SessionFactory) -> list[RenderPreviewJob]:
    async with sessions() as session:
        rows = await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        return [
            RenderPreviewJob.model_validate(row.payload["body"])
            for row in rows
            if row.payload["subject"] == RenderPreviewJob.subject
        ]


async def _category(sessions: SessionFactory, title: str) -> int:
    async with sessions() as session, session.begin():
        return (await CategoryRepository(session).get_or_create(title)).id


# Products: edits


async def test_new_price_is_what_the_shopper_sees(session_factory: SessionFactory) -> None:
    shop = Shop(session_factory)
    product_id = await shop.product(price=10)

    assert await AdminProducts(session_factory).reprice(product_id, " 75 ⭐") is None

    card = await Browse(session_factory).card(product_id)
    assert card is not None
    assert card.price_stars == 75


@pytest.mark.parametrize("text", ["abc", "0", "-5", "1.5", "100001", "9" * 30, "", "١٢"])
async def test_a_price_that_is_not_whole_stars_in_range_is_refused(
    session_factory: SessionFactory, text: str
) -> None:
    product_id = await Shop(session_factory).product(price=10)

    refusal = await AdminProducts(session_factory).reprice(product_id, text)

    assert refusal is ProductRefusal.PRICE
    assert (await _product(session_factory, product_id)).price_stars == 10


def test_prices_at_the_limits_are_accepted() -> None:
    assert (parse_price("1"), parse_price("100000"), parse_price("0100")) == (1, 100_000, 100)


async def test_title_and_description_limits(session_factory: SessionFactory) -> None:
    admin = AdminProducts(session_factory)
    product_id = await Shop(session_factory).product(title="Sunset")

    assert await admin.rename(product_id, "   ") is ProductRefusal.TITLE
    assert await admin.rename(product_id, "x" * 129) is ProductRefusal.TITLE
    assert await admin.rename(product_id, "two\nlines") is ProductRefusal.TITLE
    assert await admin.describe(product_id, "y" * 801) is ProductRefusal.DESCRIPTION
    assert (await _product(session_factory, product_id)).title == "Sunset"

    assert await admin.rename(product_id, "  " + "x" * 128 + " ") is None
    assert await admin.describe(product_id, "Dawn, not dusk") is None
    edited = await _product(session_factory, product_id)
    assert (edited.title, edited.description) == ("x" * 128, "Dawn, not dusk")
    assert await admin.describe(product_id, "-") is None
    assert (await _product(session_factory, product_id)).description == ""


async def test_edits_of_a_missing_product_are_refused(session_factory: SessionFactory) -> None:
    admin = AdminProducts(session_factory)

    assert await admin.rename(424242, "New") is ProductRefusal.NOT_FOUND
    assert await admin.reprice(424242, "5") is ProductRefusal.NOT_FOUND
    assert await admin.card(424242) is None


async def test_move_to_another_category_and_not_to_a_missing_one(
    session_factory: SessionFactory,
) -> None:
    admin = AdminProducts(session_factory)
    product_id = await Shop(session_factory).product()
    birds = await _category(session_factory, "Birds")

    assert await admin.move_to_category(product_id, 424242) is ProductRefusal.CATEGORY
    assert await admin.move_to_category(product_id, birds) is None

    card = await admin.card(product_id)
    assert card is not None
    assert (card.category_id, card.category_title) == (birds, "Birds")


async def test_an_invoice_issued_before_a_price_change_is_refused_at_pre_checkout(
    session_factory: SessionFactory,
) -> None:
    shop = Shop(session_factory)
    await shop.shopper(ALICE)
    product_id = await shop.product(price=10)
    invoice = await shop.invoice(ALICE, product_id)

    await AdminProducts(session_factory).reprice(product_id, "12")

    verdict = await shop.check(invoice, ALICE)
    assert (verdict.ok, verdict.reason) == (False, PreCheckoutRefusal.PRICE_CHANGED)


# Products: the list


async def test_list_shows_every_status_newest_first_and_filters(
    session_factory: SessionFactory,
) -> None:
    shop = Shop(session_factory)
    ready = await shop.product(title="Harbour 50%")
    failed = await shop.product(title="Broken", status=ProductStatus.FAILED)
    archived = await shop.product(title="Old harbour", status=ProductStatus.ARCHIVED)
    admin = AdminProducts(session_factory)

    everything = await admin.page(0, 10)
    assert [line.id for line in everything.items] == [archived, failed, ready]
    assert everything.items[0].status is ProductStatus.ARCHIVED
    failed_only = await admin.page(0, 10, status=ProductStatus.FAILED)
    assert ([line.id for line in failed_only.items], failed_only.total) == ([failed], 1)
    found = await admin.page(0, 10, search="harbour")
    assert [line.id for line in found.items] == [archived, ready]
    assert [line.id for line in (await admin.page(0, 10, search=f"#{failed}")).items] == [failed]
    # LIKE wildcards are taken literally.
    assert [line.id for line in (await admin.page(0, 10, search="50%")).items] == [ready]
    assert (await admin.page(0, 10, search="%")).total == 1
    assert (await admin.page(1, 1)).items[0].id == failed


# Products: archive, restore, re-render, delete


async def test_archived_product_leaves_the_shop_and_its_buyer_keeps_the_download(
    session_factory: SessionFactory,
) -> None:
    shop = Shop(session_factory)
    await shop.shopper(ALICE)
    product_id = await shop.product()
    await shop.change(Product, product_id, preview_key="preview-key")
    purchase_id = await shop.bought(await shop.invoice(ALICE, product_id), ALICE, "charge-1")
    lifecycle = ProductLifecycle(session_factory)
    browse = Browse(session_factory)

    assert await lifecycle.archive(product_id) is None

    assert await browse.card(product_id) is None
    assert await browse.categories() == []
    assert await shop.queries.downloadable(ALICE, purchase_id) is not None
    assert await lifecycle.archive(product_id) is ProductRefusal.ARCHIVED

    assert await lifecycle.restore(product_id) is None
    assert await browse.card(product_id) is not None
    assert await lifecycle.restore(product_id) is ProductRefusal.NOT_ARCHIVED


async def test_restoring_a_product_without_a_preview_marks_it_failed(
    session_factory: SessionFactory,
) -> None:
    product_id = await Shop(session_factory).product(status=ProductStatus.ARCHIVED)

    assert await ProductLifecycle(session_factory).restore(product_id) is None

    product = await _product(session_factory, product_id)
    assert (product.status, product.failure_reason) == (
        ProductStatus.FAILED,
        RESTORED_WITHOUT_PREVIEW,
    )


async def test_a_rendering_product_is_neither_archived_nor_rendered_twice(
    session_factory: SessionFactory,
) -> None:
    product_id = await Shop(session_factory).product(status=ProductStatus.RENDERING)
    lifecycle = ProductLifecycle(session_factory)

    assert await lifecycle.archive(product_id) is ProductRefusal.RENDERING
    assert await lifecycle.rerender(product_id, None) is ProductRefusal.RENDERING
    assert await _render_jobs(session_factory) == []


async def test_each_rerender_is_a_new_job_in_the_outbox(session_factory: SessionFactory) -> None:
    shop = Shop(session_factory)
    product_id = await shop.product()
    lifecycle = ProductLifecycle(session_factory)

    first = await lifecycle.rerender(product_id, notify_chat_id=ALICE)
    product = await _product(session_factory, product_id)
    assert (product.status, product.preview_file_id) == (ProductStatus.RENDERING, None)
    await shop.change(Product, product_id, status=ProductStatus.READY)
    second = await lifecycle.rerender(product_id, notify_chat_id=ALICE)

    assert isinstance(first, RenderPreviewJob)
    assert isinstance(second, RenderPreviewJob)
    assert await _render_jobs(session_factory) == [first, second]
    assert 0 < first.render_revision < second.render_revision
    upload = RenderPreviewJob(product_id=product_id, original_sha256=SHA)
    assert len({upload.msg_id(), first.msg_id(), second.msg_id()}) == 3
    assert (first.product_id, first.original_sha256, first.notify_chat_id) == (
        product_id,
        SHA,
        ALICE,
    )


async def test_an_archived_product_is_restored_before_it_is_rerendered(
    session_factory: SessionFactory,
) -> None:
    product_id = await Shop(session_factory).product(status=ProductStatus.ARCHIVED)

    refusal = await ProductLifecycle(session_factory).rerender(product_id, None)

    assert refusal is ProductRefusal.ARCHIVED
    assert (await _product(session_factory, product_id)).status is ProductStatus.ARCHIVED


def test_revision_zero_keeps_the_message_ids_of_before_and_old_messages_still_parse() -> None:
    old_body = {"version": 1, "product_id": 7, "original_sha256": SHA, "notify_chat_id": None}

    job = RenderPreviewJob.model_validate(old_body)

    assert job.render_revision == 0
    assert job.msg_id() == f"render-preview:7:{SHA}"
    assert job.model_copy(update={"render_revision": 5}).msg_id() == f"render-preview:7:{SHA}:r5"
    ready = PreviewReady(product_id=7, original_sha256=SHA, preview_key="k", render_revision=5)
    assert ready.msg_id() == f"preview-ready:7:{SHA}:r5"


async def test_unsold_product_is_deleted(session_factory: SessionFactory) -> None:
    product_id = await Shop(session_factory).product()
    lifecycle = ProductLifecycle(session_factory)

    assert await lifecycle.deletion_blocker(product_id) is None
    assert await lifecycle.delete(product_id) is None

    assert await AdminProducts(session_factory).card(product_id) is None
    assert await lifecycle.delete(product_id) is ProductRefusal.NOT_FOUND


async def test_product_with_an_order_or_a_purchase_is_not_deleted(
    session_factory: SessionFactory,
) -> None:
    shop = Shop(session_factory)
    await shop.shopper(ALICE)
    ordered = await shop.product(title="Ordered")
    await shop.invoice(ALICE, ordered)
    sold = await shop.product(title="Sold")
    await shop.pay(await shop.invoice(ALICE, sold), ALICE, "charge-1")
    lifecycle = ProductLifecycle(session_factory)

    assert await lifecycle.delete(ordered) == DeleteBlocked(purchases=0, orders=1)
    assert await lifecycle.deletion_blocker(sold) == DeleteBlocked(purchases=1, orders=1)
    assert await lifecycle.delete(sold) == DeleteBlocked(purchases=1, orders=1)

    assert (await _product(session_factory, sold)).status is ProductStatus.READY
    card = await AdminProducts(session_factory).card(sold)
    assert card is not None
    assert card.sold == 1


# Categories


async def _shop_order(sessions: SessionFactory) -> list[str]:
    return [line.title for line in await AdminCategories(sessions).lines()]


async def test_created_categories_come_last_and_titles_are_unique_as_typed(
    session_factory: SessionFactory,
) -> None:
    categories = AdminCategories(session_factory)
    await _category(session_factory, "Seas")

    birds = await categories.create(" Birds ")
    assert isinstance(birds, int)
    assert await categories.create("Birds") is CategoryRefusal.TAKEN
    assert isinstance(await categories.create("birds"), int)
    assert await categories.create("") is CategoryRefusal.TITLE
    assert await categories.create("c" * 65) is CategoryRefusal.TITLE
    await _category(session_factory, "Aardvarks")  # from an upload: last too

    assert await _shop_order(session_factory) == ["Seas", "Birds", "birds", "Aardvarks"]


async def test_rename_refuses_a_title_another_category_has(
    session_factory: SessionFactory,
) -> None:
    categories = AdminCategories(session_factory)
    seas = await _category(session_factory, "Seas")
    await _category(session_factory, "Birds")

    assert await categories.rename(seas, "Birds") is CategoryRefusal.TAKEN
    assert await categories.rename(seas, "Seas") is None
    assert await categories.rename(seas, "Oceans") is None
    assert await categories.rename(424242, "Lakes") is CategoryRefusal.NOT_FOUND

    assert await _shop_order(session_factory) == ["Oceans", "Birds"]


async def test_moves_reorder_the_shoppers_catalog(session_factory: SessionFactory) -> None:
    shop = Shop(session_factory)
    categories = AdminCategories(session_factory)
    ids = {}
    for title in ("A", "B", "C"):
        product_id = await shop.product(title=title)
        ids[title] = await _category(session_factory, title)
        await shop.change(Product, product_id, category_id=ids[title])
    tests = await _category(session_factory, "Tests")  # the first, now empty
    async with session_factory() as session, session.begin():
        await session.execute(update(Category).values(position=0))  # ties: id order

    assert await categories.move(ids["C"], -1) is None
    assert await categories.move(ids["A"], +1) is None
    assert await categories.move(tests, -1) is CategoryRefusal.FIRST
    assert await categories.move(ids["B"], +1) is CategoryRefusal.LAST
    assert await categories.move(424242, +1) is CategoryRefusal.NOT_FOUND

    assert await _shop_order(session_factory) == ["Tests", "C", "A", "B"]
    shopper_sees = [item.title for item in await Browse(session_factory).categories()]
    assert shopper_sees == ["C", "A", "B"]
    card = await categories.card(ids["C"])
    assert card is not None
    assert (card.place, card.of, card.products) == (2, 4, 1)


async def test_only_an_empty_category_is_deleted(session_factory: SessionFactory) -> None:
    shop = Shop(session_factory)
    categories = AdminCategories(session_factory)
    await shop.product()
    await shop.product(status=ProductStatus.ARCHIVED)
    full = await _category(session_factory, "Tests")
    empty = await _category(session_factory, "Empty")

    assert await categories.deletion_blocker(full) == NotEmpty(products=2)
    assert await categories.delete(full) == NotEmpty(products=2)
    assert await categories.deletion_blocker(empty) is None
    assert await categories.delete(empty) is None
    assert await categories.delete(empty) is CategoryRefusal.NOT_FOUND

    assert await _shop_order(session_factory) == ["Tests"]


async def test_shoppers_see_categories_of_equal_position_in_creation_order(
    session_factory: SessionFactory,
) -> None:
    shop = Shop(session_factory)
    for title in ("Zebras", "Ants"):
        product_id = await shop.product(title=title)
        async with session_factory() as session, session.begin():
            session.add(category := Category(title=title, position=0))
            await session.flush()
            category_id = category.id
        await shop.change(Product, product_id, category_id=category_id)

    shopper_sees = [item.title for item in await Browse(session_factory).categories()]

    assert shopper_sees == ["Zebras", "Ants"]


def test_every_refusal_and_status_has_a_text_in_both_languages() -> None:
    keys = {f"admin.products.refused.{refusal.value}" for refusal in ProductRefusal}
    keys |= {f"admin.categories.refused.{refusal.value}" for refusal in CategoryRefusal}
    keys |= {f"admin.products.status.{status.value}" for status in ProductStatus}

    for language in Language:
        assert keys - set(load_catalogs()[language]) == set()
