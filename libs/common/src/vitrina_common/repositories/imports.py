"""Import batches, their rows, and the products rows become."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, func, literal, null, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from vitrina_common.db.models import (
    Category,
    ImportBatch,
    ImportBatchRow,
    ImportRowOutcome,
    ImportStatus,
    Language,
    OutboxMessage,
    Product,
    User,
)
from vitrina_common.imports.reasons import ImportReason, verbatim

# Rows per INSERT statement: asyncpg caps one statement at 32 767 parameters.
_INSERT_CHUNK = 2_000


@dataclass(frozen=True)
class LockedRow:
    """An import row being settled, with what settling it needs of its import."""

    outcome: ImportRowOutcome
    import_key: str | None
    planned: dict[str, Any] | None
    preview_chat_id: int | None


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

    async def finish(
        self, batch_id: int, status: ImportStatus, reason: ImportReason | None = None
    ) -> None:
        """The import is over: done, or refused with ``reason``."""
        stored = null() if reason is None else reason.to_json()
        await self._session.execute(
            update(ImportBatch)
            .where(ImportBatch.id == batch_id)
            .values(status=status, refusal_reason=stored, finished_at=func.now())
            .execution_options(synchronize_session=False)
        )

    async def finish_running(self, batch_id: int, counts: dict[ImportRowOutcome, int]) -> bool:
        """Running → done with the final totals; False when it was not running (another
        row's job finished it first)."""
        result = await self._session.execute(
            update(ImportBatch)
            .where(ImportBatch.id == batch_id, ImportBatch.status == ImportStatus.RUNNING)
            .values(
                status=ImportStatus.DONE,
                finished_at=func.now(),
                imported=counts.get(ImportRowOutcome.IMPORTED, 0),
                already_imported=counts.get(ImportRowOutcome.ALREADY_IMPORTED, 0),
                failed=counts.get(ImportRowOutcome.FAILED, 0),
            )
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

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

    async def lock(self, batch_id: int, row_number: int) -> LockedRow | None:
        """The row and its import's preview chat, the row locked until the end of the
        transaction (a second job for it waits here, then finds it settled)."""
        result = await self._session.execute(
            select(
                ImportBatchRow.outcome,
                ImportBatchRow.import_key,
                ImportBatchRow.planned,
                ImportBatch.preview_chat_id,
            )
            .join(ImportBatch, ImportBatch.id == ImportBatchRow.batch_id)
            .where(ImportBatchRow.batch_id == batch_id, ImportBatchRow.row_number == row_number)
            .with_for_update(of=ImportBatchRow)
        )
        found = result.one_or_none()
        return None if found is None else LockedRow(*found)

    async def settle(
        self,
        batch_id: int,
        row_number: int,
        outcome: ImportRowOutcome,
        *,
        reason: ImportReason | None = None,
        product_id: int | None = None,
        outbox: dict[str, Any] | None = None,
    ) -> None:
        """Record the row's outcome, and add ``outbox`` (an outbox row's kind, dedup_key and
        payload) in the same statement."""
        statement = (
            update(ImportBatchRow)
            .where(ImportBatchRow.batch_id == batch_id, ImportBatchRow.row_number == row_number)
            .values(
                outcome=outcome,
                reason=null() if reason is None else reason.to_json(),
                product_id=product_id,
            )
        )
        if outbox is not None:
            queued = insert(OutboxMessage).values(**outbox).on_conflict_do_nothing()
            statement = statement.add_cte(queued.returning(OutboxMessage.id).cte("queued"))
        await self._session.execute(statement)

    async def has_pending(self, batch_id: int) -> bool:
        """True while any row of the import waits for its job."""
        result = await self._session.execute(
            select(
                exists().where(
                    ImportBatchRow.batch_id == batch_id,
                    ImportBatchRow.outcome == ImportRowOutcome.PENDING,
                )
            )
        )
        return bool(result.scalar_one())

    async def counts(self, batch_ids: Sequence[int]) -> dict[int, dict[ImportRowOutcome, int]]:
        """Rows per outcome of each import: the exact count, one row, one outcome."""
        result = await self._session.execute(
            select(ImportBatchRow.batch_id, ImportBatchRow.outcome, func.count())
            .where(ImportBatchRow.batch_id.in_(batch_ids))
            .group_by(ImportBatchRow.batch_id, ImportBatchRow.outcome)
        )
        counts: dict[int, dict[ImportRowOutcome, int]] = {}
        for batch_id, outcome, count in result:
            counts.setdefault(batch_id, {})[outcome] = count
        return counts

    async def failed(self, batch_id: int) -> list[tuple[int, ImportReason, list[str]]]:
        """(row number, reason, cells as sent) of the failed rows, in row order."""
        result = await self._session.execute(
            select(ImportBatchRow.row_number, ImportBatchRow.reason, ImportBatchRow.cells)
            .where(
                ImportBatchRow.batch_id == batch_id,
                ImportBatchRow.outcome == ImportRowOutcome.FAILED,
            )
            .order_by(ImportBatchRow.row_number)
        )
        return [
            (number, ImportReason.from_json(reason or verbatim("").to_json()), list(cells))
            for number, reason, cells in result
        ]

    async def admin_language(self, batch_id: int) -> Language | None:
        """The language of the admin who started the import (None: not a user of the bot)."""
        return (
            await self._session.execute(
                select(User.language)
                .join(ImportBatch, ImportBatch.admin_telegram_id == User.telegram_id)
                .where(ImportBatch.id == batch_id)
            )
        ).scalar_one_or_none()

    async def category_titles(self) -> dict[int, str]:
        """Every category's title by id (imports look categories up, never create them)."""
        result = await self._session.execute(select(Category.id, Category.title))
        return {category_id: title for category_id, title in result}  # noqa: C416  (Row → typed pair)

    async def insert_product(self, values: dict[str, Any]) -> int | None:
        """Insert an imported product; None when one with its ``import_key`` exists or its
        category is gone (deleted since the import was planned)."""
        columns = Product.__table__.c
        row = select(*(literal(value, columns[name].type) for name, value in values.items()))
        category_exists = exists().where(Category.id == values["category_id"])
        result = await self._session.execute(
            insert(Product)
            .from_select(list(values), row.where(category_exists))
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
