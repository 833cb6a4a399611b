"""Import reasons as data: ``import_rows.reason`` and ``import_batches.refusal_reason``
hold an ``ImportReason`` as JSON (code and arguments), rendered in the reader's language
when shown. Sentences stored before become the ``verbatim`` reason, shown as they are.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 13:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (("import_rows", "reason"), ("import_batches", "refusal_reason"))


def upgrade() -> None:
    for table, column in _COLUMNS:
        op.alter_column(
            table,
            column,
            type_=postgresql.JSONB(),
            postgresql_using=(
                f"CASE WHEN {column} IS NULL THEN NULL ELSE jsonb_build_object("
                f"'code', 'verbatim', 'arguments', jsonb_build_object('text', {column})) END"
            ),
        )


def downgrade() -> None:
    # Back to text: a verbatim reason's text; of any other only its code, since its
    # sentence lives in catalogs that the old code does not read.
    for table, column in _COLUMNS:
        op.alter_column(
            table,
            column,
            type_=sa.Text(),
            postgresql_using=(
                f"CASE WHEN {column} ->> 'code' = 'verbatim' "
                f"THEN {column} -> 'arguments' ->> 'text' ELSE {column} ->> 'code' END"
            ),
        )
