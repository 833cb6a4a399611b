"""Use cases of bulk imports on the worker's side: record a plan, create one row's product,
give a row up, gather the failed rows.

Exactly once, with any number of workers and redeliveries: a row is settled under its own
row lock and only from ``pending``, so its outcome row is the count (no counter another
job could double). After its commit every row job asks whether any row is still pending;
the last commit is followed by at least one such question answered "none" (each is asked
after its own commit), and the update from running to done succeeds for one of them
only. A job that died between its commit and that question is redelivered, finds its row
settled, and asks again. No row job waits on another's lock but for the same row.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import func, null
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.db.models import (
    ImportBatch,
    ImportRowOutcome,
    ImportStatus,
    ProductStatus,
)
from vitrina_common.imports import RowError
from vitrina_common.messaging.contracts import ImportReportJob, ImportRowJob, RenderPreviewJob
from vitrina_common.outbox import (
    NATS_PUBLISH,
    enqueue_publish,
    enqueue_publishes,
    publish_intent,
)
from vitrina_common.repositories.imports import ImportBatchRepository, ImportRowRepository
from vitrina_common.repositories.outbox import OutboxRepository

SessionFactory = async_sessionmaker[AsyncSession]


@dataclass(frozen=True)
class PlannedProduct:
    """A valid row with its category found and its image stored as an original."""

    row_number: int
    import_key: str
    title: str
    description: str
    price_stars: int
    category_id: int
    category: str
    original_sha256: str
    original_size: int
    original_mime: str


@dataclass
class RowPlan:
    """Every data row of an import: as sent (``cells``), and either planned or failed."""

    header: list[str] = field(default_factory=list)
    encoding: str = ""
    cells: dict[int, list[str]] = field(default_factory=dict)
    products: list[PlannedProduct] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


@dataclass(frozen=True)
class RowSettlement:
    """What one row became, and whether it was the import's last."""

    outcome: ImportRowOutcome
    finished: bool
    product_id: int | None = None


class ImportPlanning:
    """The plan job's transactions."""

    def __init__(self, session_factory: SessionFactory) -> None:
        self._session_factory = session_factory

    async def batch_to_plan(self, batch_id: int) -> ImportBatch | None:
        """The batch if it still waits for its plan (None: planned already, or gone)."""
        async with self._session_factory() as session:
            batch = await ImportBatchRepository(session).get(batch_id)
            return batch if batch is not None and batch.status is ImportStatus.PLANNING else None

    async def categories(self) -> dict[int, str]:
        """Every category's title by id."""
        async with self._session_factory() as session:
            return await ImportRowRepository(session).category_titles()

    async def refuse(self, batch_id: int, reason: str) -> bool:
        """A whole file is refused: the import ends with nothing imported.

        False when the batch was planned already (a late duplicate of the job).
        """
        async with self._session_factory() as session, session.begin():
            batches = ImportBatchRepository(session)
            batch = await batches.get(batch_id, lock=True)
            if batch is None or batch.status is not ImportStatus.PLANNING:
                return False
            await batches.finish(batch_id, ImportStatus.REFUSED, reason[:2000])
            return True

    async def record(self, batch_id: int, plan: RowPlan) -> bool:
        """Every row, the counters, and one row job per planned product: one commit.

        False (and nothing written) when the batch was planned already.
        """
        async with self._session_factory() as session, session.begin():
            batches = ImportBatchRepository(session)
            batch = await batches.get(batch_id, lock=True)
            if batch is None or batch.status is not ImportStatus.PLANNING:
                return False
            await ImportRowRepository(session).add_many(_row_values(batch_id, plan))
            await batches.set_fields(
                batch_id,
                status=ImportStatus.RUNNING if plan.products else ImportStatus.DONE,
                header=plan.header,
                encoding=plan.encoding,
                rows_total=len(plan.products) + len(plan.errors),
                failed=len(plan.errors),
                finished_at=None if plan.products else func.now(),
            )
            jobs = [
                ImportRowJob(batch_id=batch_id, row_number=p.row_number, row_key=p.import_key)
                for p in plan.products
            ]
            outbox = OutboxRepository(session)
            await enqueue_publishes(outbox, jobs)
            if not plan.products and plan.errors:
                await enqueue_publish(outbox, ImportReportJob(batch_id=batch_id))
            return True


def _row_values(batch_id: int, plan: RowPlan) -> list[dict[str, object]]:
    # One multi-row INSERT needs the same columns in every row; null() is SQL NULL (a plain
    # None would be stored as the JSON value null).
    rows: list[dict[str, object]] = [
        {
            "batch_id": batch_id,
            "row_number": error.row_number,
            "outcome": ImportRowOutcome.FAILED,
            "reason": error.reason,
            "cells": plan.cells.get(error.row_number, []),
            "import_key": None,
            "planned": null(),
        }
        for error in plan.errors
    ]
    for product in plan.products:
        planned = asdict(product)
        del planned["row_number"], planned["import_key"]
        rows.append(
            {
                "batch_id": batch_id,
                "row_number": product.row_number,
                "outcome": ImportRowOutcome.PENDING,
                "reason": None,
                "cells": plan.cells.get(product.row_number, []),
                "import_key": product.import_key,
                "planned": planned,
            }
        )
    return rows


class ImportRows:
    """The row job's transactions."""

    def __init__(self, session_factory: SessionFactory) -> None:
        self._session_factory = session_factory

    async def create_product(self, batch_id: int, row_number: int) -> RowSettlement | None:
        """The row's product with its render job, or "already imported"; None when the row
        was settled before (a redelivered or duplicated job). Then finish the import if
        no row is left."""
        settled = await self._create(batch_id, row_number)
        finished = await self.finish_if_complete(batch_id)
        return None if settled is None else RowSettlement(settled[0], finished, settled[1])

    async def _create(
        self, batch_id: int, row_number: int
    ) -> tuple[ImportRowOutcome, int | None] | None:
        async with self._session_factory() as session, session.begin():
            rows = ImportRowRepository(session)
            row = await rows.lock(batch_id, row_number)
            if row is None or row.outcome is not ImportRowOutcome.PENDING or row.planned is None:
                return None
            planned = PlannedProduct(row_number, row.import_key or "", **row.planned)
            product_id = await rows.insert_product(_product_values(planned))
            outbox, reason = None, None
            if product_id is not None:
                outcome = ImportRowOutcome.IMPORTED
                outbox = _render_job(product_id, planned, row.preview_chat_id)
            else:
                # Not inserted: a product with this key exists, or the category is gone.
                product_id = await rows.product_id_by_import_key(planned.import_key)
                outcome = ImportRowOutcome.ALREADY_IMPORTED
                if product_id is None:
                    outcome = ImportRowOutcome.FAILED
                    reason = f"the category '{planned.category}' was deleted during the import"
            await rows.settle(
                batch_id, row_number, outcome, reason=reason, product_id=product_id, outbox=outbox
            )
            return outcome, product_id

    async def give_up(self, batch_id: int, row_number: int, reason: str) -> RowSettlement | None:
        """The row's job cannot succeed: fail the row (if still pending), then finish the
        import if no row is left."""
        async with self._session_factory() as session, session.begin():
            rows = ImportRowRepository(session)
            row = await rows.lock(batch_id, row_number)
            failed = row is not None and row.outcome is ImportRowOutcome.PENDING
            if failed:
                await rows.settle(
                    batch_id, row_number, ImportRowOutcome.FAILED, reason=reason[:2000]
                )
        finished = await self.finish_if_complete(batch_id)
        return RowSettlement(ImportRowOutcome.FAILED, finished) if failed else None

    async def finish_if_complete(self, batch_id: int) -> bool:
        """Running → done with the final totals once no row is pending (True for the one
        caller that did it), and the failed-rows report queued if any row failed."""
        async with self._session_factory() as session:
            # Asked after every row: one statement, without a transaction around it.
            await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            if await ImportRowRepository(session).has_pending(batch_id):
                return False
        async with self._session_factory() as session, session.begin():
            rows = ImportRowRepository(session)
            counts = (await rows.counts([batch_id])).get(batch_id, {})
            if not await ImportBatchRepository(session).finish_running(batch_id, counts):
                return False
            if counts.get(ImportRowOutcome.FAILED):
                report = ImportReportJob(batch_id=batch_id)
                await enqueue_publish(OutboxRepository(session), report)
            return True


def _render_job(
    product_id: int, planned: PlannedProduct, preview_chat_id: int | None
) -> dict[str, Any]:
    """The outbox row publishing the new product's render job."""
    job = RenderPreviewJob(
        product_id=product_id,
        original_sha256=planned.original_sha256,
        notify_chat_id=preview_chat_id,
    )
    dedup_key, payload = publish_intent(job)
    return {"kind": NATS_PUBLISH, "dedup_key": dedup_key, "payload": payload}


def _product_values(planned: PlannedProduct) -> dict[str, object]:
    return {
        "category_id": planned.category_id,
        "title": planned.title,
        "description": planned.description,
        "price_stars": planned.price_stars,
        "status": ProductStatus.RENDERING,
        "original_key": planned.original_sha256,
        "original_sha256": planned.original_sha256,
        "original_size": planned.original_size,
        "original_mime": planned.original_mime,
        "import_key": planned.import_key,
    }


@dataclass(frozen=True)
class FailedRowsReport:
    """The failed rows of a finished import, ready for ``failed_rows_csv``."""

    batch_id: int
    chat_id: int
    header: list[str]
    errors: list[RowError]
    cells: dict[int, list[str]]


class ImportReports:
    """The report job's read."""

    def __init__(self, session_factory: SessionFactory) -> None:
        self._session_factory = session_factory

    async def failed_rows(self, batch_id: int) -> FailedRowsReport | None:
        """The import's failed rows, or None when the import is gone."""
        async with self._session_factory() as session:
            batch = await ImportBatchRepository(session).get(batch_id)
            if batch is None:
                return None
            failed = await ImportRowRepository(session).failed(batch_id)
        return FailedRowsReport(
            batch_id=batch_id,
            chat_id=batch.chat_id,
            header=list(batch.header),
            errors=[RowError(number, reason) for number, reason, _ in failed],
            cells={number: cells for number, _, cells in failed},
        )
