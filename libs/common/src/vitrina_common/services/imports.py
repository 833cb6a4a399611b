"""Use cases of bulk imports on the bot's side: start one, and follow its progress.

The worker's side is in ``imports_planning`` (the plan job) and ``imports_rows`` (the row
and report jobs). An import is a row in ``import_batches`` and one row per CSV row in
``import_rows``, whose outcomes are the exact count while it runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.config import Settings
from vitrina_common.db.models import ImportBatch, ImportRowOutcome, ImportStatus
from vitrina_common.imports import ImportLimits, ImportReason
from vitrina_common.messaging.contracts import ImportPlanJob
from vitrina_common.outbox import enqueue_publish
from vitrina_common.repositories.imports import ImportBatchRepository, ImportRowRepository
from vitrina_common.repositories.outbox import OutboxRepository

SessionFactory = async_sessionmaker[AsyncSession]
_UNSHOWN_PER_PASS = 50


def import_limits(settings: Settings) -> ImportLimits:
    """The parsing limits of ``vitrina_common.imports`` from the settings."""
    imports = settings.imports
    return ImportLimits(
        max_csv_bytes=imports.max_csv_bytes,
        max_rows=imports.max_rows,
        max_line_chars=imports.max_line_chars,
        max_zip_entries=imports.max_zip_entries,
        max_zip_total_bytes=imports.max_zip_total_bytes,
        max_image_bytes=settings.worker.max_original_bytes,
    )


@dataclass(frozen=True)
class StoredImportFiles:
    """The files of one import as the bot stored them in the ``imports`` bucket."""

    zip_key: str
    zip_name: str
    # None when the ZIP carries the CSV.
    csv_key: str | None = None
    csv_name: str | None = None


@dataclass(frozen=True)
class ImportRequest:
    """Who asked for an import, where to show its progress, and its files."""

    admin_telegram_id: int
    chat_id: int
    progress_message_id: int
    files: StoredImportFiles
    # Where the previews of the new products go (None: only the storage chat).
    preview_chat_id: int | None = None


class StartImport:
    """Record an import and, in the same transaction, the job that plans it (outbox)."""

    def __init__(self, session_factory: SessionFactory) -> None:
        self._session_factory = session_factory

    async def __call__(self, request: ImportRequest) -> int:
        """Commit the batch and its plan job; returns the batch id."""
        files = request.files
        async with self._session_factory() as session, session.begin():
            batch = await ImportBatchRepository(session).add(
                ImportBatch(
                    admin_telegram_id=request.admin_telegram_id,
                    chat_id=request.chat_id,
                    progress_message_id=request.progress_message_id,
                    preview_chat_id=request.preview_chat_id,
                    csv_key=files.csv_key,
                    csv_name=files.csv_name,
                    zip_key=files.zip_key,
                    zip_name=files.zip_name,
                )
            )
            await enqueue_publish(OutboxRepository(session), ImportPlanJob(batch_id=batch.id))
        return batch.id


@dataclass(frozen=True)
class ImportView:
    """What the admin's progress message shows of one import."""

    batch_id: int
    chat_id: int
    message_id: int | None
    status: ImportStatus
    rows_total: int
    rows_done: int
    imported: int
    already_imported: int
    failed: int
    refusal_reason: ImportReason | None
    progress_shown: int
    created_at: datetime

    @property
    def is_over(self) -> bool:
        """Done or refused: the summary replaces the progress bar."""
        return self.status in {ImportStatus.DONE, ImportStatus.REFUSED}


def _view(batch: ImportBatch, counts: dict[ImportRowOutcome, int] | None) -> ImportView:
    """The import as its rows count it while it runs, as its totals say once it is over."""
    totals = {
        ImportRowOutcome.IMPORTED: batch.imported,
        ImportRowOutcome.ALREADY_IMPORTED: batch.already_imported,
        ImportRowOutcome.FAILED: batch.failed,
    }
    if batch.status is ImportStatus.RUNNING and counts is not None:
        totals = {outcome: counts.get(outcome, 0) for outcome in totals}
    return ImportView(
        batch_id=batch.id,
        chat_id=batch.chat_id,
        message_id=batch.progress_message_id,
        status=batch.status,
        rows_total=batch.rows_total,
        rows_done=sum(totals.values()),
        imported=totals[ImportRowOutcome.IMPORTED],
        already_imported=totals[ImportRowOutcome.ALREADY_IMPORTED],
        failed=totals[ImportRowOutcome.FAILED],
        refusal_reason=(
            None if batch.refusal_reason is None else ImportReason.from_json(batch.refusal_reason)
        ),
        progress_shown=batch.progress_shown,
        created_at=batch.created_at,
    )


class ImportProgress:
    """The bot's view of running imports: what to show, and what it has shown."""

    def __init__(self, session_factory: SessionFactory) -> None:
        self._session_factory = session_factory

    async def unshown(self) -> list[ImportView]:
        """Imports whose final summary has not been shown yet, oldest first."""
        async with self._session_factory() as session:
            batches = await ImportBatchRepository(session).unshown(_UNSHOWN_PER_PASS)
            running = [batch.id for batch in batches if batch.status is ImportStatus.RUNNING]
            counts = await ImportRowRepository(session).counts(running) if running else {}
            return [_view(batch, counts.get(batch.id, {})) for batch in batches]

    async def view(self, batch_id: int) -> ImportView | None:
        """One import as it is now."""
        async with self._session_factory() as session:
            batch = await ImportBatchRepository(session).get(batch_id)
            if batch is None:
                return None
            counts = await ImportRowRepository(session).counts([batch_id])
            return _view(batch, counts.get(batch_id, {}))

    async def claim_progress(self, batch_id: int, rows_done: int) -> bool:
        """True when this caller should show ``rows_done``: nobody showed as many yet.

        Bot replicas polling the same import edit its message once per change, not once each.
        """
        async with self._session_factory() as session, session.begin():
            return await ImportBatchRepository(session).claim_progress(batch_id, rows_done)

    async def summary_shown(self, batch_id: int) -> None:
        """The admin has the final summary: stop following this import."""
        async with self._session_factory() as session, session.begin():
            await ImportBatchRepository(session).set_fields(batch_id, summary_shown_at=func.now())

    async def message_moved(self, batch_id: int, message_id: int) -> None:
        """The progress message could not be edited, so a new one was sent: follow that."""
        async with self._session_factory() as session, session.begin():
            await ImportBatchRepository(session).set_fields(
                batch_id, progress_message_id=message_id
            )
