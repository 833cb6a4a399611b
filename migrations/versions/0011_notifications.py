"""Notifications (one message to one user, sent by the worker through the global budget),
followed categories, and the users' time zone, quiet hours and digest hour.

The new users columns are NULL or carry a constant default (no table rewrite); their
CHECKs are added NOT VALID (see ``migrations.safety``). The rest are new tables.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 10:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from migrations import safety

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NOW = sa.text("now()")


def _hour(name: str, default: int) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), server_default=sa.text(str(default)), nullable=False)


def upgrade() -> None:
    op.add_column("users", sa.Column("time_zone", sa.String(length=64), nullable=True))
    op.add_column("users", _hour("quiet_from_hour", 22))
    op.add_column("users", _hour("quiet_to_hour", 9))
    op.add_column("users", _hour("digest_hour", 10))
    op.add_column("users", sa.Column("last_digest_at", sa.DateTime(timezone=True), nullable=True))
    safety.add_check_constraint(
        "ck_users_quiet_hours_valid",
        "users",
        "quiet_from_hour BETWEEN 0 AND 23 AND quiet_to_hour BETWEEN 0 AND 23",
    )
    safety.add_check_constraint(
        "ck_users_digest_hour_valid", "users", "digest_hour BETWEEN 0 AND 23"
    )
    _create_notifications()
    _create_category_follows()


def _create_notifications() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("template", sa.String(length=64), nullable=False),
        sa.Column("params", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "buttons",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'"),
            nullable=False,
        ),
        sa.Column("dedup_key", sa.String(length=200), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "sent",
                "failed",
                "blocked",
                "skipped",
                name="notification_state",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            server_default="pending",
            nullable=False,
        ),
        sa.Column("send_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notifications_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_notifications_dedup_key")),
    )
    op.create_index(op.f("ix_notifications_user_id"), "notifications", ["user_id"])
    op.create_index(
        "ix_notifications_pending",
        "notifications",
        ["send_after", "id"],
        postgresql_where=sa.text("state = 'pending'"),
    )


def _create_category_follows() -> None:
    op.create_table(
        "category_follows",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("category_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["categories.id"],
            name=op.f("fk_category_follows_category_id_categories"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_category_follows_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "category_id", name=op.f("pk_category_follows")),
    )
    op.create_index(op.f("ix_category_follows_category_id"), "category_follows", ["category_id"])


def downgrade() -> None:
    op.drop_table("category_follows")
    op.drop_table("notifications")
    op.drop_constraint(op.f("ck_users_digest_hour_valid"), "users", type_="check")
    op.drop_constraint(op.f("ck_users_quiet_hours_valid"), "users", type_="check")
    for column in ("last_digest_at", "digest_hour", "quiet_to_hour", "quiet_from_hour"):
        op.drop_column("users", column)
    op.drop_column("users", "time_zone")
