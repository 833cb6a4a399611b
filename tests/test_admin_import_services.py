"""Import use cases against the real database: a batch and its plan job in one commit, rows
settled exactly once however many workers race, counters exact, the last row finishing."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.db.models import (
    Category,
    ImportBatch,
    ImportBatchRow,
    ImportRowOutcome,
    ImportStatus,
    Language,
    OutboxMessage,
    Product,
    ProductStatus,
    User,
)
from vitrina_common.imports import ImportReason, RowError
from vitrina_common.outbox import OutboxRelay
from vitrina_common.repositories.outbox import OutboxRepository
from vitrina_common.services.imports import (
    ImportProgress,
    ImportRequest,
    StartImport,
    StoredImportFiles,
)
from vitrina_common.services.imports_planning import ImportPlanning, PlannedProduct, RowPlan
from vitrina_common.services.imports_rows import ImportReports, ImportRows

pytestmark = pytest.mark.postgres

SessionFactory = async_sessionmaker[AsyncSession]
ADMIN = 4900
HEADER = ["title", "description", "price", "category", "file"]
PRICE = ImportReason("price_invalid", {"min": 1, "max": 100_000, "got": "0"})


async def category(sessions: SessionFactory, title: str = "Landscapes") -> int:
    async with sessions() as session, session.begin():
        row = Category(title=title)
        session.add(row)
        await session.flush()
        return row.id


async def start(sessions: SessionFactory) -> int:
    request = ImportRequest(
        admin_telegram_id=ADMIN,
        chat_id=ADMIN,
        progress_message_id=77,
        files=StoredImportFiles(zip_key="k.zip", zip_name="images.zip", csv_key="k.csv"),
    )
    return await StartImport(sessions)(request)


def planned(row_number: int, category_id: int, title: str | None = None) -> PlannedProduct:
    title = title or f"Picture {row_number}"
    return PlannedProduct(
        row_number=row_number,
        import_key=hashlib.sha256(title.encode()).hexdigest(),
        title=title,
        description="",
        price_stars=10 + row_number,
        category_id=category_id,
        category="Landscapes",
        original_sha256=hashlib.sha256(f"image {row_number}".encode()).hexdigest(),
        original_size=1000,
        original_mime="image/jpeg",
    )


def plan_of(products: list[PlannedProduct], errors: list[RowError] | None = None) -> RowPlan:
    errors = errors or []
    numbers = [p.row_number for p in products] + [e.row_number for e in errors]
    cells = {n: [f"Picture {n}", "", "10", "Landscapes", f"{n}.jpg"] for n in numbers}
    return RowPlan(HEADER, "cp1251", cells, products, errors)


async def batch(sessions: SessionFactory, batch_id: int) -> ImportBatch:
    async with sessions() as session:
        found = await session.get(ImportBatch, batch_id)
        assert found is not None
        return found


async def outbox_subjects(sessions: SessionFactory) -> list[str]:
    async with sessions() as session:
        rows = await session.execute(select(OutboxMessage.payload).order_by(OutboxMessage.id))
        return [payload["subject"] for payload in rows.scalars()]


async def products(sessions: SessionFactory) -> list[Product]:
    async with sessions() as session:
        return list((await session.execute(select(Product).order_by(Product.id))).scalars())


async def test_starting_an_import_commits_the_batch_with_its_plan_job(
    session_factory: SessionFactory,
) -> None:
    batch_id = await start(session_factory)

    recorded = await batch(session_factory, batch_id)
    assert (recorded.status, recorded.progress_message_id, recorded.zip_name) == (
        ImportStatus.PLANNING,
        77,
        "images.zip",
    )
    assert await outbox_subjects(session_factory) == ["jobs.import.plan"]


async def test_a_plan_records_every_row_and_one_job_per_product_once(
    session_factory: SessionFactory,
) -> None:
    category_id = await category(session_factory)
    batch_id = await start(session_factory)
    plan = plan_of(
        [planned(2, category_id), planned(3, category_id)],
        [RowError(4, PRICE)],
    )
    planning = ImportPlanning(session_factory)

    assert await planning.record(batch_id, plan)
    assert not await planning.record(batch_id, plan)  # a redelivered plan job writes nothing

    recorded = await batch(session_factory, batch_id)
    assert (recorded.status, recorded.rows_total, recorded.failed) == (ImportStatus.RUNNING, 3, 1)
    assert recorded.header == HEADER
    assert await outbox_subjects(session_factory) == ["jobs.import.plan"] + ["jobs.import.row"] * 2
    assert await planning.batch_to_plan(batch_id) is None


async def test_a_plan_with_nothing_to_create_finishes_with_a_report(
    session_factory: SessionFactory,
) -> None:
    batch_id = await start(session_factory)

    await ImportPlanning(session_factory).record(batch_id, plan_of([], [RowError(2, PRICE)]))

    assert (await batch(session_factory, batch_id)).status is ImportStatus.DONE
    assert (await outbox_subjects(session_factory))[-1] == "jobs.import.report"


async def test_a_row_creates_its_product_with_a_render_job_exactly_once(
    session_factory: SessionFactory,
) -> None:
    category_id = await category(session_factory)
    batch_id = await start(session_factory)
    await ImportPlanning(session_factory).record(
        batch_id, plan_of([planned(2, category_id), planned(3, category_id)])
    )
    rows = ImportRows(session_factory)

    first = await rows.create_product(batch_id, 2)
    again = await rows.create_product(batch_id, 2)

    assert first is not None
    assert (first.outcome, first.finished) == (ImportRowOutcome.IMPORTED, False)
    assert again is None
    [product] = await products(session_factory)
    assert (product.title, product.price_stars, product.status, product.category_id) == (
        "Picture 2",
        12,
        ProductStatus.RENDERING,
        category_id,
    )
    assert product.import_key == planned(2, category_id).import_key
    assert (await outbox_subjects(session_factory)).count("jobs.preview.render") == 1
    view = await ImportProgress(session_factory).view(batch_id)
    assert view is not None
    assert (view.rows_done, view.imported, view.rows_total) == (1, 1, 2)


async def test_rows_settled_by_racing_workers_count_exactly_and_finish_once(
    session_factory: SessionFactory,
) -> None:
    category_id = await category(session_factory)
    batch_id = await start(session_factory)
    plan = plan_of(
        [planned(n, category_id) for n in range(2, 42)],
        [RowError(42, PRICE)],
    )
    await ImportPlanning(session_factory).record(batch_id, plan)
    rows = ImportRows(session_factory)

    # Every row twice, as a redelivery racing the first delivery would.
    numbers = [n for n in range(2, 42) for _ in range(2)]
    settlements = await asyncio.gather(*(rows.create_product(batch_id, n) for n in numbers))

    done = [s for s in settlements if s is not None]
    assert len(done) == 40
    # The duplicate deliveries also ask whether the import is complete (one may finish it).
    assert sum(s.finished for s in done) <= 1
    recorded = await batch(session_factory, batch_id)
    assert (recorded.status, recorded.imported, recorded.failed) == (ImportStatus.DONE, 40, 1)
    assert len(await products(session_factory)) == 40
    subjects = await outbox_subjects(session_factory)
    assert (subjects.count("jobs.preview.render"), subjects.count("jobs.import.report")) == (40, 1)


async def test_the_same_product_imported_again_is_already_imported(
    session_factory: SessionFactory,
) -> None:
    category_id = await category(session_factory)
    rows = ImportRows(session_factory)
    first, second = await start(session_factory), await start(session_factory)
    for batch_id in (first, second):
        await ImportPlanning(session_factory).record(batch_id, plan_of([planned(2, category_id)]))

    await rows.create_product(first, 2)
    settlement = await rows.create_product(second, 2)

    assert settlement is not None
    assert settlement.outcome is ImportRowOutcome.ALREADY_IMPORTED
    [product] = await products(session_factory)
    assert settlement.product_id == product.id
    recorded = await batch(session_factory, second)
    assert (recorded.imported, recorded.already_imported, recorded.status) == (
        0,
        1,
        ImportStatus.DONE,
    )


async def test_a_category_deleted_during_the_import_fails_the_row_with_a_reason(
    session_factory: SessionFactory,
) -> None:
    category_id = await category(session_factory, "Short-lived")
    batch_id = await start(session_factory)
    await ImportPlanning(session_factory).record(batch_id, plan_of([planned(2, category_id)]))
    async with session_factory() as session, session.begin():
        await session.delete(await session.get(Category, category_id))

    settlement = await ImportRows(session_factory).create_product(batch_id, 2)

    assert settlement is not None
    assert settlement.outcome is ImportRowOutcome.FAILED
    report = await ImportReports(session_factory).failed_rows(batch_id)
    assert report is not None
    deleted = ImportReason("category_deleted", {"category": "Landscapes"})
    assert report.errors == [RowError(2, deleted)]
    assert deleted.english() == "the category 'Landscapes' was deleted during the import"
    assert report.cells[2][0] == "Picture 2"
    assert report.header == HEADER
    assert await products(session_factory) == []


async def test_the_failed_rows_report_is_in_the_language_the_admin_chose(
    session_factory: SessionFactory,
) -> None:
    batch_id = await start(session_factory)
    await ImportPlanning(session_factory).record(batch_id, plan_of([], [RowError(2, PRICE)]))
    reports = ImportReports(session_factory)

    unknown_admin = await reports.failed_rows(batch_id)
    async with session_factory() as session, session.begin():
        session.add(User(telegram_id=ADMIN, language=Language.RU))
    russian_admin = await reports.failed_rows(batch_id)

    assert unknown_admin is not None
    assert unknown_admin.language is Language.EN
    assert russian_admin is not None
    assert russian_admin.language is Language.RU
    assert russian_admin.errors == [RowError(2, PRICE)]


async def test_giving_a_row_up_fails_and_counts_it_once(session_factory: SessionFactory) -> None:
    category_id = await category(session_factory)
    batch_id = await start(session_factory)
    await ImportPlanning(session_factory).record(
        batch_id, plan_of([planned(2, category_id), planned(3, category_id)])
    )
    rows = ImportRows(session_factory)
    await rows.create_product(batch_id, 2)

    died = ImportReason("worker_died", {"attempts": 5})
    assert await rows.give_up(batch_id, 2, died) is None  # already imported
    gave_up = await rows.give_up(batch_id, 3, died)

    assert gave_up is not None
    assert gave_up.finished
    recorded = await batch(session_factory, batch_id)
    assert (recorded.imported, recorded.failed, recorded.status) == (1, 1, ImportStatus.DONE)
    async with session_factory() as session:
        outcomes = await session.execute(
            select(ImportBatchRow.outcome, func.count()).group_by(ImportBatchRow.outcome)
        )
        assert dict(outcomes.all()) == {
            ImportRowOutcome.IMPORTED: 1,
            ImportRowOutcome.FAILED: 1,
        }


async def test_a_refused_import_ends_once_and_cannot_be_planned_after(
    session_factory: SessionFactory,
) -> None:
    batch_id = await start(session_factory)
    planning = ImportPlanning(session_factory)

    assert await planning.refuse(batch_id, ImportReason("not_a_zip"))
    assert not await planning.refuse(batch_id, ImportReason("zip_without_csv"))
    assert not await planning.record(batch_id, plan_of([]))

    view = await ImportProgress(session_factory).view(batch_id)
    assert view is not None
    assert (view.status, view.refusal_reason) == (ImportStatus.REFUSED, ImportReason("not_a_zip"))


async def test_progress_is_claimed_once_per_count_and_summaries_once(
    session_factory: SessionFactory,
) -> None:
    batch_id = await start(session_factory)
    progress = ImportProgress(session_factory)

    assert await progress.claim_progress(batch_id, 0)
    assert not await progress.claim_progress(batch_id, 0)  # another replica showed it
    assert await progress.claim_progress(batch_id, 5)
    [view] = await progress.unshown()
    assert (view.batch_id, view.progress_shown, view.is_over) == (batch_id, 5, False)

    await progress.summary_shown(batch_id)

    assert await progress.unshown() == []


async def test_a_relay_pass_delivers_rows_concurrently_and_reschedules_only_failures(
    session_factory: SessionFactory,
) -> None:
    # The worker's relay publishes an import's thousands of row jobs several at a time.
    async with session_factory() as session, session.begin():
        outbox = OutboxRepository(session)
        await outbox.add_many("test.kind", [(f"key-{n}", {"n": n}) for n in range(30)])
    in_flight, most = 0, 0
    eight_at_once = asyncio.Event()

    async def deliver(payload: dict[str, Any]) -> None:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        if in_flight == 8:
            eight_at_once.set()
        # The first ones wait for the eighth to start (not a fixed sleep, which a loaded
        # machine outlasts before the eighth claims its row); with fewer slots, they give up.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                await eight_at_once.wait()
        in_flight -= 1
        if payload["n"] == 7:
            raise RuntimeError("boom")

    relay = OutboxRelay(session_factory, {"test.kind": deliver}, concurrency=8)

    assert await relay.deliver_due() == 29
    assert await relay.deliver_due() == 0  # the failed one waits for its backoff
    assert most == 8
    async with session_factory() as session:
        pending = (
            await session.execute(select(OutboxMessage).where(OutboxMessage.delivered_at.is_(None)))
        ).scalar_one()
    assert (pending.dedup_key, pending.attempts, pending.last_error) == (
        "key-7",
        1,
        "RuntimeError: boom",
    )
