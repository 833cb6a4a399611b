"""The money path under faults: inbox rows with attempts and an outcome, reserved orders,
dead outbox rows, and refused charges (refunded automatically).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 04:00:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from migrations import safety

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ORDER_STATUSES_BEFORE = ("pending", "paid", "expired", "cancelled")
_ORDER_STATUSES = ("pending", "reserved", "paid", "expired", "cancelled")
_ORDER_STATUS_CHECK = "ck_orders_order_status"


def _order_status_check(statuses: Sequence[str]) -> None:
    # The enum is text with a CHECK (see str_enum): a new value is a swap of it.
    listed = ", ".join(f"'{status}'" for status in statuses)
    safety.replace_check_constraint(_ORDER_STATUS_CHECK, "orders", f"status IN ({listed})")


def _timestamp(name: str, *, nullable: bool = True, default_now: bool = False) -> sa.Column[Any]:
    default = sa.text("now()") if default_now else None
    return sa.Column(name, sa.DateTime(timezone=True), server_default=default, nullable=nullable)


def _upgrade_inbox() -> None:
    # Updates without money were stored with JSON's null, which "payload IS NOT NULL" lets
    # through: the replay would take them for unfinished payments. SQL NULL from now on.
    # First, before the table's exclusive lock: this rewrites nearly every row (seconds
    # per million), and while only this UPDATE holds the table the bot's inserts go on.
    op.execute("UPDATE telegram_updates SET payload = NULL WHERE payload = 'null'::jsonb")
    # The enum is text with a CHECK (see str_enum), spelled out: add_column would not
    # create the CHECK a table definition gets.
    op.add_column("telegram_updates", sa.Column("outcome", sa.String(length=16), nullable=True))
    safety.add_check_constraint(
        "ck_telegram_updates_update_outcome",
        "telegram_updates",
        "outcome IN ('processed', 'expired', 'dead')",
    )
    op.add_column(
        "telegram_updates",
        sa.Column("attempts", sa.SmallInteger(), server_default=sa.text("0"), nullable=False),
    )
    op.add_column("telegram_updates", sa.Column("last_error", sa.Text(), nullable=True))
    op.add_column(
        "telegram_updates", _timestamp("next_attempt_at", nullable=False, default_now=True)
    )
    safety.add_check_constraint(
        "ck_telegram_updates_attempts_not_negative", "telegram_updates", "attempts >= 0"
    )
    # Rows closed before this revision were processed: that was the only way to close one.
    op.execute("UPDATE telegram_updates SET outcome = 'processed' WHERE processed_at IS NOT NULL")
    op.drop_index(op.f("ix_telegram_updates_received_at"), table_name="telegram_updates")
    op.create_index(
        "ix_telegram_updates_due",
        "telegram_updates",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("processed_at IS NULL AND payload IS NOT NULL"),
    )


def _upgrade_orders_and_outbox() -> None:
    _order_status_check(_ORDER_STATUSES)
    op.add_column("orders", _timestamp("reserved_until"))
    op.create_index(
        "ix_orders_reserved_product_id",
        "orders",
        ["product_id"],
        unique=False,
        postgresql_where=sa.text("status = 'reserved'"),
    )
    op.add_column("outbox", _timestamp("dead_at"))
    op.drop_index(op.f("ix_outbox_available_at"), table_name="outbox")
    op.create_index(
        "ix_outbox_due",
        "outbox",
        ["available_at"],
        unique=False,
        postgresql_where=sa.text("delivered_at IS NULL AND dead_at IS NULL"),
    )


def _create_refused_charges() -> None:
    op.create_table(
        "refused_charges",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("telegram_payment_charge_id", sa.String(length=256), nullable=False),
        sa.Column("telegram_user_id", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=True),
        sa.Column("product_id", sa.BigInteger(), nullable=True),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column(
            "reason",
            sa.Enum(
                "unknown_order",
                "amount_mismatch",
                "order_already_paid",
                "already_owned",
                "sold_out",
                name="refusal_reason",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        _timestamp("created_at", nullable=False, default_now=True),
        _timestamp("refunded_at"),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_refused_charges_amount_not_negative")),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_refused_charges_order_id_orders"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_refused_charges_product_id_products"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refused_charges")),
        sa.UniqueConstraint(
            "telegram_payment_charge_id",
            name=op.f("uq_refused_charges_telegram_payment_charge_id"),
        ),
    )


def upgrade() -> None:
    _upgrade_inbox()
    _upgrade_orders_and_outbox()
    _create_refused_charges()


def downgrade() -> None:
    op.drop_table("refused_charges")
    op.drop_index("ix_outbox_due", table_name="outbox")
    op.create_index(
        op.f("ix_outbox_available_at"),
        "outbox",
        ["available_at"],
        unique=False,
        postgresql_where=sa.text("delivered_at IS NULL"),
    )
    op.drop_column("outbox", "dead_at")
    op.drop_index("ix_orders_reserved_product_id", table_name="orders")
    op.drop_column("orders", "reserved_until")
    # A reserved order goes back to pending: it still waits for its payment.
    op.execute("UPDATE orders SET status = 'pending' WHERE status = 'reserved'")
    _order_status_check(_ORDER_STATUSES_BEFORE)
    op.drop_index("ix_telegram_updates_due", table_name="telegram_updates")
    op.create_index(
        op.f("ix_telegram_updates_received_at"),
        "telegram_updates",
        ["received_at"],
        unique=False,
        postgresql_where=sa.text("processed_at IS NULL"),
    )
    op.drop_constraint(
        op.f("ck_telegram_updates_attempts_not_negative"), "telegram_updates", type_="check"
    )
    for column in ("next_attempt_at", "last_error", "attempts", "outcome"):
        op.drop_column("telegram_updates", column)
