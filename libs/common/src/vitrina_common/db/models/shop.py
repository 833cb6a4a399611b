"""The shop: its users, categories and products.

Image bytes never live here: products point at objects in the NATS Object Store by key
and sha256, and cache the Telegram ``file_id`` once a file has been sent, so later sends
cost no upload.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import CITEXT
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vitrina_common.db.base import Base, Timestamped
from vitrina_common.db.models.columns import str_enum


class Language(StrEnum):
    EN = "en"
    RU = "ru"


class ProductStatus(StrEnum):
    DRAFT = "draft"
    RENDERING = "rendering"
    READY = "ready"
    FAILED = "failed"
    ARCHIVED = "archived"


class User(Timestamped, Base):
    __tablename__ = "users"
    __table_args__ = (
        # New users per day (sales charts) aggregate over created_at.
        Index(None, "created_at"),
        CheckConstraint(
            "quiet_from_hour BETWEEN 0 AND 23 AND quiet_to_hour BETWEEN 0 AND 23",
            name="quiet_hours_valid",
        ),
        CheckConstraint("digest_hour BETWEEN 0 AND 23", name="digest_hour_valid"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    telegram_id: Mapped[int] = mapped_column(unique=True)
    username: Mapped[str | None] = mapped_column(String(64))
    first_name: Mapped[str | None] = mapped_column(String(128))
    # CITEXT: "Ann@Example.com" and "ann@example.com" are the same address, also for UNIQUE.
    email: Mapped[str | None] = mapped_column(CITEXT, unique=True)
    language: Mapped[Language] = mapped_column(
        str_enum(Language, "language"), server_default=Language.EN.value
    )
    # The user blocked the bot (Telegram said so): nothing more is sent to them.
    is_blocked: Mapped[bool] = mapped_column(server_default=text("false"))
    # The shop banned the user: the bot ignores their updates until unbanned.
    is_banned: Mapped[bool] = mapped_column(server_default=text("false"))
    # A shop admin's private note about the user (never shown to the user).
    admin_comment: Mapped[str | None] = mapped_column(Text)
    # An IANA zone name ("Europe/Moscow"); NULL until the shopper picks one, when their
    # language's usual zone stands in (see ``services.notifications.local_time``).
    time_zone: Mapped[str | None] = mapped_column(String(64))
    # Local hours [from, to) in which non-urgent notices wait; from == to: no quiet hours.
    quiet_from_hour: Mapped[int] = mapped_column(Integer, server_default=text("22"))
    quiet_to_hour: Mapped[int] = mapped_column(Integer, server_default=text("9"))
    # The local hour the followed categories' digest comes at, and when the last one went.
    digest_hour: Mapped[int] = mapped_column(Integer, server_default=text("10"))
    last_digest_at: Mapped[datetime | None]


class Category(Timestamped, Base):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    title: Mapped[str] = mapped_column(String(64), unique=True)
    position: Mapped[int] = mapped_column(Integer, server_default=text("0"))


class Product(Timestamped, Base):
    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("price_stars > 0", name="price_positive"),
        CheckConstraint("edition_size IS NULL OR edition_size > 0", name="edition_size_positive"),
        CheckConstraint("original_size >= 0", name="original_size_not_negative"),
        # The catalog page query: one category's ready products in id order.
        Index(None, "category_id", "status", "id"),
        # Search: ILIKE '%words%' on title or description, served by trigram GIN indexes.
        Index(
            "ix_products_title_trgm",
            "title",
            postgresql_using="gin",
            postgresql_ops={"title": "gin_trgm_ops"},
        ),
        Index(
            "ix_products_description_trgm",
            "description",
            postgresql_using="gin",
            postgresql_ops={"description": "gin_trgm_ops"},
        ),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id", ondelete="RESTRICT"))
    title: Mapped[str] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(Text, server_default="")
    price_stars: Mapped[int] = mapped_column(Integer)
    status: Mapped[ProductStatus] = mapped_column(
        str_enum(ProductStatus, "product_status"), server_default=ProductStatus.DRAFT.value
    )
    failure_reason: Mapped[str | None] = mapped_column(Text)
    # A limited edition sells at most this many copies; NULL means unlimited.
    edition_size: Mapped[int | None] = mapped_column(Integer)
    original_key: Mapped[str] = mapped_column(String(128))
    original_sha256: Mapped[str] = mapped_column(String(64))
    original_size: Mapped[int]
    original_mime: Mapped[str] = mapped_column(String(64))
    original_file_id: Mapped[str | None] = mapped_column(String(256))
    preview_key: Mapped[str | None] = mapped_column(String(128))
    preview_file_id: Mapped[str | None] = mapped_column(String(256))
    # Set by a bulk import: a stable key of the CSV row and its image, so importing the
    # same files again creates nothing (NULL for products uploaded one by one).
    import_key: Mapped[str | None] = mapped_column(String(64), unique=True)

    category: Mapped[Category] = relationship(lazy="raise")
