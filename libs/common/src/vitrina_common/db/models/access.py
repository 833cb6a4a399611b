"""Who may use the shop from outside Telegram: the HTTP API's staff tokens."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Identity, LargeBinary, Text, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from vitrina_common.db.base import Base


class ApiScope(StrEnum):
    """What a token may do: ``read`` lists and reads, ``write`` changes."""

    READ = "read"
    WRITE = "write"


class ApiToken(Base):
    """A staff API token. Only its SHA-256 is stored: the token itself is shown once, when
    it is made. A token is revoked (``revoked_at``), never deleted, so what it did (ticket
    events, comments) keeps pointing at it."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        CheckConstraint("scopes <@ ARRAY['read', 'write']::text[]", name="known_scopes"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(Text))
    # The Telegram id of the admin who made it.
    created_by: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
