"""Column types shared by the tables."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Enum


def str_enum(enum: type[StrEnum], name: str, length: int = 16) -> Enum:
    """``enum`` as a column: its values as text, checked by a CHECK constraint."""
    # Stored as text with a CHECK, not as a Postgres ENUM type: adding a value is then a
    # plain constraint swap in a migration, and downgrades leave no orphan types behind.
    return Enum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=length,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )
