"""Admin fields on users (ban, comment), products.import_key, indexes for sales charts.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 09:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column("is_banned", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.add_column("users", sa.Column("admin_comment", sa.Text(), nullable=True))
    op.create_index(op.f("ix_users_created_at"), "users", ["created_at"])
    op.add_column("products", sa.Column("import_key", sa.String(length=64), nullable=True))
    op.create_unique_constraint(op.f("uq_products_import_key"), "products", ["import_key"])
    op.create_index(op.f("ix_purchases_created_at"), "purchases", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_purchases_created_at"), table_name="purchases")
    op.drop_constraint(op.f("uq_products_import_key"), "products", type_="unique")
    op.drop_column("products", "import_key")
    op.drop_index(op.f("ix_users_created_at"), table_name="users")
    op.drop_column("users", "admin_comment")
    op.drop_column("users", "is_banned")
