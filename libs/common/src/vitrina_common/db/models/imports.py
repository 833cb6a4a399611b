"""Bulk imports: a batch per pair of files, a row per CSV line."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Identity, Index, Integer, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from vitrina_common.db.base import Base, Timestamped
from vitrina_common.db.models.columns import str_enum


class ImportStatus(StrEnum):
    # The files are stored; the plan job reads them (or waits for a worker).
    PLANNING = "planning"
    # Rows are planned and their jobs queued; the counters move as rows finish.
    RUNNING = "running"
    DONE = "done"
    # A whole file was refused (not a ZIP, no title column…): nothing was imported.
    REFUSED = "refused"


class ImportRowOutcome(StrEnum):
    PENDING = "pending"
    IMPORTED = "imported"
    ALREADY_IMPORTED = "already_imported"
    FAILED = "failed"


class ImportBatch(Timestamped, Base):
    """One bulk import: the admin's files, its progress message, its outcome.

    While it runs, its rows' outcomes (``import_rows``) are the count; the totals here are
    written when it is planned (rows, failed) and when it finishes (all of them).
    """

    __tablename__ = "import_batches"
    __table_args__ = (
        CheckConstraint(
            "imported + already_imported + failed <= rows_total AND imported >= 0"
            " AND already_imported >= 0 AND failed >= 0",
            name="counters_valid",
        ),
        # The bot's progress loop: imports whose final summary the admin has not seen yet.
        Index(
            "ix_import_batches_summary_unshown",
            "id",
            postgresql_where=text("summary_shown_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    admin_telegram_id: Mapped[int]
    chat_id: Mapped[int]
    # The one message edited in place with the progress bar, then the summary.
    progress_message_id: Mapped[int | None]
    # Where previews of the imported products are sent (None: only the storage chat).
    preview_chat_id: Mapped[int | None]
    # Objects in the ``imports`` bucket; no CSV key when the CSV is inside the ZIP.
    csv_key: Mapped[str | None] = mapped_column(String(200))
    zip_key: Mapped[str] = mapped_column(String(200))
    csv_name: Mapped[str | None] = mapped_column(String(256))
    zip_name: Mapped[str] = mapped_column(String(256))
    status: Mapped[ImportStatus] = mapped_column(
        str_enum(ImportStatus, "import_status"), server_default=ImportStatus.PLANNING.value
    )
    # An ``ImportReason`` as JSON (code and arguments), not a sentence: see ``import_rows.reason``.
    refusal_reason: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    encoding: Mapped[str | None] = mapped_column(String(32))
    # The CSV's header, repeated at the top of the failed-rows report.
    header: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    rows_total: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    imported: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    already_imported: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    failed: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    # Rows done when the progress message was last edited (-1: not yet); edits only on change.
    progress_shown: Mapped[int] = mapped_column(Integer, server_default=text("-1"))
    summary_shown_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class ImportBatchRow(Base):
    """One CSV data row of an import: its cells as sent, then what became of it."""

    __tablename__ = "import_rows"
    __table_args__ = (
        # Deleting a product nulls its import rows.
        Index(None, "product_id"),
        # "Is any row of this import still pending?", asked after every row settles.
        Index(
            "ix_import_rows_pending",
            "batch_id",
            postgresql_where=text("outcome = 'pending'"),
        ),
    )

    batch_id: Mapped[int] = mapped_column(
        ForeignKey("import_batches.id", ondelete="CASCADE"), primary_key=True
    )
    # As Excel numbers it: the header is row 1.
    row_number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    outcome: Mapped[ImportRowOutcome] = mapped_column(
        str_enum(ImportRowOutcome, "import_row_outcome"),
        server_default=ImportRowOutcome.PENDING.value,
    )
    # Why the row failed, as ``ImportReason.to_json`` (code and arguments) rather than a
    # sentence: it is rendered when shown, in the language of whoever reads it then (the
    # failed-rows report in the admin's language when the last row settles, the bot's
    # refusal in the admin's language when it posts it). A sentence stored at planning
    # time would freeze one language, and the worker would need the admin's language at
    # each of the places it fails a row rather than at the one place it reports them.
    reason: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    cells: Mapped[list[str]] = mapped_column(JSONB)
    # The product's stable identity (``vitrina_common.imports.row_key``) and what the row
    # job needs to create it; NULL for rows refused while planning.
    import_key: Mapped[str | None] = mapped_column(String(64))
    planned: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="SET NULL"))
