"""Use cases of the import plan job (worker): the batch to plan, the categories to look
up, refusing an import, and recording its plan in one commit."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from sqlalchemy import func, null
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.db.models import ImportBatch, ImportRowOutcome, ImportStatus
from vitrina_common.imports import ImportReason, RowError
from vitrina_common.messaging.contracts import ImportReportJob, ImportRowJob
from vitrina_common.outbox import enqueue_publish, enqueue_publishes
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

    async def refuse(self, batch_id: int, reason: ImportReason) -> bool:
        """A whole file is refused: the import ends with nothing imported.

        False when the batch was planned already (a late duplicate of the job).
        """
        async with self._session_factory() as session, session.begin():
            batches = ImportBatchRepository(session)
            batch = await batches.get(batch_id, lock=True)
            if batch is None or batch.status is not ImportStatus.PLANNING:
                return False
            await batches.finish(batch_id, ImportStatus.REFUSED, reason)
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
            "reason": error.reason.to_json(),
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
                "reason": null(),
                "cells": plan.cells.get(product.row_number, []),
                "import_key": product.import_key,
                "planned": planned,
            }
        )
    return rows
