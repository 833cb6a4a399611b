"""Import batches, their rows, and the products rows become."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from vitrina_common.db.models import (
    Category,
    ImportBatch,
    ImportBatchRow,
    ImportRowOutcome,
    ImportStatus,
    Product,
)

# Rows per INSERT statement: asyncpg caps one statement at 32 767 parameters.
_INSERT_CHUNK = 2_000


class ImportBatchRepository:
    """Reads and writes ``import_batches`` inside the caller's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, batch: ImportBatch) -> ImportBatch:
        """Insert ``batch`` and load its generated id."""
        self._session.add(batch)
        await self._session.flush()
        return batch

    async def get(self, batch_id: int, *, lock: bool = False) -> ImportBatch | None:
        """The batch, optionally locked until the end of the transaction."""
        query = select(ImportBatch).where(ImportBatch.id == batch_id)
        if lock:
            query = query.with_for_update()
        return (await self._session.execute(query)).scalar_one_or_none()

    async def count_row(
        self, batch_id: int, outcome: ImportRowOutcome
    ) -> tuple[int, int, int | None]:
        """One pending row settled as ``outcome``: (rows still pending, failed so far,
        preview chat). Takes the batch's row lock, so concurrent settlements queue here."""
        column = {
            ImportRowOutcome.IMPORTED: ImportBatch.imported,
            ImportRowOutcome.ALREADY_IMPORTED: ImportBatch.already_imported,
            ImportRowOutcome.FAILED: ImportBatch.failed,
        }[outcome]
        result = await self._session.execute(
            update(ImportBatch)
            .where(ImportBatch.id == batch_id)
            .values({column: column + 1, ImportBatch.rows_pending: ImportBatch.rows_pending - 1})
            .returning(ImportBatch.rows_pending, ImportBatch.failed, ImportBatch.preview_chat_id)
            .execution_options(synchronize_session=False)
        )
        pending, failed, preview_chat_id = result.one()
        return int(pending), int(failed), preview_chat_id

    async def finish(self, batch_id: int, status: ImportStatus, reason: str | None = None) -> None:
        """The import is over: done, or refused with ``reason``."""
        await self._session.execute(
            update(ImportBatch)
            .where(ImportBatch.id == batch_id)
            .values(status=status, refusal_reason=reason, finished_at=func.now())
            .execution_options(synchronize_session=False)
        )

    async def unshown(self, limit: int) -> list[ImportBatch]:
        """Imports whose final summary the admin has not been shown, oldest first."""
        result = await self._session.execute(
            select(ImportBatch)
            .where(ImportBatch.summary_shown_at.is_(None))
            .order_by(ImportBatch.id)
            .limit(limit)
        )
        return list(result.scalars())

    async def claim_progress(self, batch_id: int, done: int) -> bool:
        """Record that ``done`` rows are being shown; False when that (or more) already was."""
        result = await self._session.execute(
            update(ImportBatch)
            .where(ImportBatch.id == batch_id, ImportBatch.progress_shown < done)
            .values(progress_shown=done)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def set_fields(self, batch_id: int, **values: Any) -> None:
        """Update plain columns of one batch."""
        await self._session.execute(
            update(ImportBatch)
            .where(ImportBatch.id == batch_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )


class ImportRowRepository:
    """Reads and writes ``import_rows`` (and the products they create)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add_many(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert rows (``ImportBatchRow`` column values); existing ones are left alone."""
        for start in range(0, len(rows), _INSERT_CHUNK):
            chunk = rows[start : start + _INSERT_CHUNK]
            statement = insert(ImportBatchRow).values(chunk).on_conflict_do_nothing()
            await self._session.execute(statement)

    async def get_locked(self, batch_id: int, row_number: int) -> ImportBatchRow | None:
        """The row, locked until the end of the transaction (a second job waits here)."""
        result = await self._session.execute(
            select(ImportBatchRow)
            .where(ImportBatchRow.batch_id == batch_id, ImportBatchRow.row_number == row_number)
            .with_for_update()
        )
        return result.scalar_one_or_none()

    async def settle(
        self,
        row: ImportBatchRow,
        outcome: ImportRowOutcome,
        *,
        reason: str | None = None,
        product_id: int | None = None,
    ) -> None:
        """Record what became of ``row`` (loaded in this session)."""
        row.outcome = outcome
        row.reason = reason
        row.product_id = product_id
        await self._session.flush()

    async def failed(self, batch_id: int) -> list[tuple[int, str, list[str]]]:
        """(row number, reason, cells as sent) of the failed rows, in row order."""
        result = await self._session.execute(
            select(ImportBatchRow.row_number, ImportBatchRow.reason, ImportBatchRow.cells)
            .where(
                ImportBatchRow.batch_id == batch_id,
                ImportBatchRow.outcome == ImportRowOutcome.FAILED,
            )
            .order_by(ImportBatchRow.row_number)
        )
        return [(number, reason or "", list(cells)) for number, reason, cells in result]

    async def category_titles(self) -> dict[int, str]:
        """Every category's title by id (imports look categories up, never create them)."""
        result = await self._session.execute(select(Category.id, Category.title))
        return {category_id: title for category_id, title in result}  # noqa: C416  (Row → typed pair)

    async def category_exists(self, category_id: int) -> bool:
        """True if the category is there; locks it against deletion until the commit."""
        result = await self._session.execute(
            select(Category.id).where(Category.id == category_id).with_for_update(key_share=True)
        )
        return result.scalar_one_or_none() is not None

    async def insert_product(self, values: dict[str, Any]) -> int | None:
        """Insert an imported product; None when one with its ``import_key`` exists."""
        result = await self._session.execute(
            insert(Product)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["import_key"])
            .returning(Product.id)
        )
        return result.scalar_one_or_none()

    async def product_id_by_import_key(self, import_key: str) -> int | None:
        """The product an earlier import made for this key."""
        result = await self._session.execute(
            select(Product.id).where(Product.import_key == import_key)
        )
        return result.scalar_one_or_none()
