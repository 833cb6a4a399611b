"""Wishlists, limited-edition waitlists and the copies reserved for waitlisted shoppers.

New tables only: nothing a running shop reads or writes is locked.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 10:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
# Follows 0011 (notifications).
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NOW = sa.text("now()")


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=16)


def upgrade() -> None:
    op.create_table(
        "wishlist_items",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_wishlist_items_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_wishlist_items_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "product_id", name=op.f("pk_wishlist_items")),
    )
    op.create_index(op.f("ix_wishlist_items_product_id"), "wishlist_items", ["product_id"])
    op.create_table(
        "waitlist_entries",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("queue_key", sa.BigInteger(), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_waitlist_entries_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_waitlist_entries_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist_entries")),
        sa.UniqueConstraint(
            "product_id", "user_id", name=op.f("uq_waitlist_entries_product_id_user_id")
        ),
    )
    op.create_index(
        op.f("ix_waitlist_entries_product_id_queue_key"),
        "waitlist_entries",
        ["product_id", "queue_key"],
    )
    op.create_index(op.f("ix_waitlist_entries_user_id"), "waitlist_entries", ["user_id"])
    op.create_table(
        "edition_reservations",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "state",
            _enum("reservation_state", "offered", "bought", "expired", "cancelled"),
            server_default="offered",
            nullable=False,
        ),
        sa.Column(
            "cause",
            _enum("reservation_cause", "refund", "edition_raised", "passed_on"),
            nullable=False,
        ),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("order_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_edition_reservations_order_id_orders"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_edition_reservations_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_edition_reservations_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_edition_reservations")),
    )
    op.create_index(
        op.f("ix_edition_reservations_product_id_id"), "edition_reservations", ["product_id", "id"]
    )
    op.create_index(op.f("ix_edition_reservations_user_id"), "edition_reservations", ["user_id"])
    op.create_index(
        "uq_edition_reservations_offered",
        "edition_reservations",
        ["product_id", "user_id"],
        unique=True,
        postgresql_where=sa.text("state = 'offered'"),
    )


def downgrade() -> None:
    op.drop_table("edition_reservations")
    op.drop_table("waitlist_entries")
    op.drop_table("wishlist_items")
