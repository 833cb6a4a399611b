"""Use cases of the import row and report jobs (worker): create one row's product, give a
row up, finish the import, gather its failed rows.

Exactly once, with any number of workers and redeliveries: a row is settled under its own
row lock and only from ``pending``, so its outcome row is the count (no counter another
job could double). After its commit every row job asks whether any row is still pending;
the last commit is followed by at least one such question answered "none" (each is asked
after its own commit), and the update from running to done succeeds for one of them
only. A job that died between its commit and that question is redelivered, finds its row
settled, and asks again. No row job waits on another's lock but for the same row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.db.models import ImportRowOutcome, Language, ProductStatus
from vitrina_common.imports import ImportReason, RowError
from vitrina_common.messaging.contracts import ImportReportJob, RenderPreviewJob
from vitrina_common.outbox import NATS_PUBLISH, enqueue_publish, publish_intent
from vitrina_common.repositories.imports import ImportBatchRepository, ImportRowRepository
from vitrina_common.repositories.outbox import OutboxRepository
from vitrina_common.services.imports_planning import PlannedProduct

SessionFactory = async_sessionmaker[AsyncSession]


@dataclass(frozen=True)
class RowSettlement:
    """What one row became, and whether it was the import's last."""

    outcome: ImportRowOutcome
    finished: bool
    product_id: int | None = None


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
                    reason = ImportReason("category_deleted", {"category": planned.category})
            await rows.settle(
                batch_id, row_number, outcome, reason=reason, product_id=product_id, outbox=outbox
            )
            return outcome, product_id

    async def give_up(
        self, batch_id: int, row_number: int, reason: ImportReason
    ) -> RowSettlement | None:
        """The row's job cannot succeed: fail the row (if still pending), then finish the
        import if no row is left."""
        async with self._session_factory() as session, session.begin():
            rows = ImportRowRepository(session)
            row = await rows.lock(batch_id, row_number)
            failed = row is not None and row.outcome is ImportRowOutcome.PENDING
            if failed:
                await rows.settle(batch_id, row_number, ImportRowOutcome.FAILED, reason=reason)
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
    """The failed rows of a finished import, ready for ``failed_rows_csv`` in ``language``."""

    batch_id: int
    chat_id: int
    language: Language
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
            rows = ImportRowRepository(session)
            failed = await rows.failed(batch_id)
            language = await rows.admin_language(batch_id)
        return FailedRowsReport(
            batch_id=batch_id,
            chat_id=batch.chat_id,
            language=language or Language.EN,
            header=list(batch.header),
            errors=[RowError(number, reason) for number, reason, _ in failed],
            cells={number: cells for number, _, cells in failed},
        )
