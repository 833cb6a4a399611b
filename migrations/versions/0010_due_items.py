"""Due items (one row per thing to do at a time, claimed by any worker replica) and the
scheduler's diagnostics table.

New tables only: nothing a running shop reads or writes is locked.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 10:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "due_items",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "payload",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("dead_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_due_items")),
        sa.UniqueConstraint("kind", "key", name=op.f("uq_due_items_kind_key")),
    )
    op.create_index(
        "ix_due_items_due",
        "due_items",
        ["due_at"],
        unique=False,
        postgresql_where=sa.text("dead_at IS NULL"),
    )
    op.create_table(
        "scheduler_probes",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("handled_by", sa.String(length=200), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduler_probes")),
    )
    op.create_index(op.f("ix_scheduler_probes_key"), "scheduler_probes", ["key"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_scheduler_probes_key"), table_name="scheduler_probes")
    op.drop_table("scheduler_probes")
    op.drop_index("ix_due_items_due", table_name="due_items")
    op.drop_table("due_items")
