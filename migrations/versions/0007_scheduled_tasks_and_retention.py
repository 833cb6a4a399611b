"""Scheduled tasks (one row per periodic task of the worker, claimed by any replica) and the
indexes retention deletes by: inbox rows by age, outbox rows by delivery (or death) time,
unpaid orders by expiry. ``import_rows`` needs none: its rows are found through their batch
(primary key), and ``import_batches`` holds one row per import, a scan of which is cheap.

The indexes are built ``CONCURRENTLY``: these tables have grown without bound until now,
and a plain build would block the bot's writes to them for as long as it takes.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from migrations import safety

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (name, table, column, partial index predicate or None)
_RETENTION_INDEXES = (
    ("ix_telegram_updates_received_at_all", "telegram_updates", "received_at", None),
    ("ix_outbox_delivered_at", "outbox", "delivered_at", "delivered_at IS NOT NULL"),
    ("ix_outbox_dead_at", "outbox", "dead_at", "dead_at IS NOT NULL"),
    (
        "ix_orders_expires_at_unpaid",
        "orders",
        "expires_at",
        "status IN ('pending', 'reserved', 'expired', 'cancelled')",
    ),
)


def _create_retention_indexes() -> None:
    # CONCURRENTLY cannot run in a transaction: this block commits what came before (the
    # previous revision, committed already) and builds outside it. A build that failed
    # half-way leaves an invalid index behind, so each is dropped first: running the
    # upgrade again repairs it.
    with safety.outside_transaction():
        for name, table, column, where in _RETENTION_INDEXES:
            op.drop_index(name, table_name=table, if_exists=True, postgresql_concurrently=True)
            op.create_index(
                name,
                table,
                [column],
                unique=False,
                postgresql_where=sa.text(where) if where else None,
                postgresql_concurrently=True,
            )


def upgrade() -> None:
    _create_retention_indexes()
    op.create_table(
        "scheduled_tasks",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column(
            "due_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("runs", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_scheduled_tasks")),
    )


def downgrade() -> None:
    op.drop_table("scheduled_tasks")
    for name, table, _, _ in reversed(_RETENTION_INDEXES):
        op.drop_index(name, table_name=table)
