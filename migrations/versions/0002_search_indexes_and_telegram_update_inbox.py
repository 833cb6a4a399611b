"""Search (trigram indexes), catalog paging index, the Telegram update inbox.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 01:23:16.275545
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # gin_trgm_ops comes with pg_trgm; left in place on downgrade, like citext.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "telegram_updates",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_telegram_updates")),
    )
    op.create_index(
        op.f("ix_telegram_updates_received_at"),
        "telegram_updates",
        ["received_at"],
        unique=False,
        postgresql_where=sa.text("processed_at IS NULL"),
    )
    op.drop_index(op.f("ix_products_category_id_status"), table_name="products")
    op.create_index(
        op.f("ix_products_category_id_status_id"),
        "products",
        ["category_id", "status", "id"],
        unique=False,
    )
    op.create_index(
        "ix_products_description_trgm",
        "products",
        ["description"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"description": "gin_trgm_ops"},
    )
    op.create_index(
        "ix_products_title_trgm",
        "products",
        ["title"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"title": "gin_trgm_ops"},
    )


def downgrade() -> None:
    op.drop_index(
        "ix_products_title_trgm",
        table_name="products",
        postgresql_using="gin",
        postgresql_ops={"title": "gin_trgm_ops"},
    )
    op.drop_index(
        "ix_products_description_trgm",
        table_name="products",
        postgresql_using="gin",
        postgresql_ops={"description": "gin_trgm_ops"},
    )
    op.drop_index(op.f("ix_products_category_id_status_id"), table_name="products")
    op.create_index(
        op.f("ix_products_category_id_status"), "products", ["category_id", "status"], unique=False
    )
    op.drop_index(
        op.f("ix_telegram_updates_received_at"),
        table_name="telegram_updates",
        postgresql_where=sa.text("processed_at IS NULL"),
    )
    op.drop_table("telegram_updates")
