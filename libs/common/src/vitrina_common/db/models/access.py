"""Who may use the HTTP API: staff API tokens.

Only a sha256 of each token is stored: the token itself is shown once, when it is created,
and a leaked table gives nobody a working token.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Identity, Text, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from vitrina_common.db.base import Base


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    # hex sha256 of the whole token (prefix included)
    token_hash: Mapped[str] = mapped_column(Text, unique=True)
    # 'read', 'write'
    scopes: Mapped[list[str]] = mapped_column(ARRAY(Text))
    # The admin's Telegram id when made from the bot; NULL from the command line.
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
