"""Bulk imports: import_batches (files, progress message, totals) and import_rows (each CSV
row's cells and outcome).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _counter(name: str, default: str = "0") -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), server_default=sa.text(default), nullable=False)


def _timestamp(name: str) -> sa.Column[object]:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "import_batches",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("admin_telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("progress_message_id", sa.BigInteger(), nullable=True),
        sa.Column("preview_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("csv_key", sa.String(length=200), nullable=True),
        sa.Column("zip_key", sa.String(length=200), nullable=False),
        sa.Column("csv_name", sa.String(length=256), nullable=True),
        sa.Column("zip_name", sa.String(length=256), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "planning",
                "running",
                "done",
                "refused",
                name="import_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            server_default="planning",
            nullable=False,
        ),
        sa.Column("refusal_reason", sa.Text(), nullable=True),
        sa.Column("encoding", sa.String(length=32), nullable=True),
        sa.Column(
            "header",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        _counter("rows_total"),
        _counter("imported"),
        _counter("already_imported"),
        _counter("failed"),
        _counter("progress_shown", "-1"),
        sa.Column("summary_shown_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.CheckConstraint(
            "imported + already_imported + failed <= rows_total AND imported >= 0"
            " AND already_imported >= 0 AND failed >= 0",
            name=op.f("ck_import_batches_counters_valid"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_batches")),
    )
    op.create_index(
        "ix_import_batches_summary_unshown",
        "import_batches",
        ["id"],
        unique=False,
        postgresql_where=sa.text("summary_shown_at IS NULL"),
    )
    op.create_table(
        "import_rows",
        sa.Column("batch_id", sa.BigInteger(), nullable=False),
        sa.Column("row_number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column(
            "outcome",
            sa.Enum(
                "pending",
                "imported",
                "already_imported",
                "failed",
                name="import_row_outcome",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            server_default="pending",
            nullable=False,
        ),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("cells", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("import_key", sa.String(length=64), nullable=True),
        sa.Column("planned", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("product_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["import_batches.id"],
            name=op.f("fk_import_rows_batch_id_import_batches"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_import_rows_product_id_products"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("batch_id", "row_number", name=op.f("pk_import_rows")),
    )
    op.create_index(op.f("ix_import_rows_product_id"), "import_rows", ["product_id"])
    op.create_index(
        "ix_import_rows_pending",
        "import_rows",
        ["batch_id"],
        unique=False,
        postgresql_where=sa.text("outcome = 'pending'"),
    )


def downgrade() -> None:
    op.drop_index("ix_import_rows_pending", table_name="import_rows")
    op.drop_index(op.f("ix_import_rows_product_id"), table_name="import_rows")
    op.drop_table("import_rows")
    op.drop_index("ix_import_batches_summary_unshown", table_name="import_batches")
    op.drop_table("import_batches")
