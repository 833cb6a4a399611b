"""The tables of the shop.

Money is in Telegram Stars (whole numbers, currency ``XTR``). Image bytes never live here:
products point at objects in the NATS Object Store by key and sha256, and cache the
Telegram ``file_id`` once a file has been sent, so later sends cost no upload.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Enum,
    ForeignKey,
    Identity,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import CITEXT, JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vitrina_common.db.base import Base, Timestamped


def _str_enum(enum: type[StrEnum], name: str, length: int = 16) -> Enum:
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


class Language(StrEnum):
    EN = "en"
    RU = "ru"


class ProductStatus(StrEnum):
    DRAFT = "draft"
    RENDERING = "rendering"
    READY = "ready"
    FAILED = "failed"
    ARCHIVED = "archived"


class OrderStatus(StrEnum):
    PENDING = "pending"
    # Pre-checkout said yes: a copy of a limited edition is held until ``reserved_until``.
    RESERVED = "reserved"
    PAID = "paid"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class PurchaseStatus(StrEnum):
    PAID = "paid"
    REFUNDED = "refunded"


class UpdateOutcome(StrEnum):
    """How an inbox row of a money update was closed."""

    PROCESSED = "processed"
    # A pre-checkout query replayed after Telegram's 10-second window: not answered.
    EXPIRED = "expired"
    # Failed every attempt; the admins were told.
    DEAD = "dead"


class RefusalReason(StrEnum):
    """Why a charge that Telegram reported is given back instead of delivered."""

    UNKNOWN_ORDER = "unknown_order"
    AMOUNT_MISMATCH = "amount_mismatch"
    # A second charge for an order that already had one (Telegram can charge twice).
    ORDER_ALREADY_PAID = "order_already_paid"
    ALREADY_OWNED = "already_owned"
    SOLD_OUT = "sold_out"


class User(Timestamped, Base):
    __tablename__ = "users"
    # New users per day (sales charts) aggregate over created_at.
    __table_args__ = (Index(None, "created_at"),)

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    telegram_id: Mapped[int] = mapped_column(unique=True)
    username: Mapped[str | None] = mapped_column(String(64))
    first_name: Mapped[str | None] = mapped_column(String(128))
    # CITEXT: "Ann@Example.com" and "ann@example.com" are the same address, also for UNIQUE.
    email: Mapped[str | None] = mapped_column(CITEXT, unique=True)
    language: Mapped[Language] = mapped_column(
        _str_enum(Language, "language"), server_default=Language.EN.value
    )
    # The user blocked the bot (Telegram said so): nothing more is sent to them.
    is_blocked: Mapped[bool] = mapped_column(server_default=text("false"))
    # The shop banned the user: the bot ignores their updates until unbanned.
    is_banned: Mapped[bool] = mapped_column(server_default=text("false"))
    # A shop admin's private note about the user (never shown to the user).
    admin_comment: Mapped[str | None] = mapped_column(Text)


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
        _str_enum(ProductStatus, "product_status"), server_default=ProductStatus.DRAFT.value
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


class Order(Timestamped, Base):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("price_stars > 0", name="price_positive"),
        # Copies of a product held by pre-checkouts: counted against its edition size.
        Index(
            "ix_orders_reserved_product_id",
            "product_id",
            postgresql_where=text("status = 'reserved'"),
        ),
        # Retention: unpaid orders past their expiry. Paid orders, kept forever, stay out of
        # it. The predicate is a literal (not "<> 'paid'") so a status added later is never
        # swept up, and the retention query repeats it word for word.
        Index(
            "ix_orders_expires_at_unpaid",
            "expires_at",
            postgresql_where=text("status IN ('pending', 'reserved', 'expired', 'cancelled')"),
        ),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"))
    # The price the invoice was issued at; pre-checkout refuses when the product's price moved.
    price_stars: Mapped[int] = mapped_column(Integer)
    status: Mapped[OrderStatus] = mapped_column(
        _str_enum(OrderStatus, "order_status"), server_default=OrderStatus.PENDING.value
    )
    # Random and unguessable: the invoice payload, so a payload cannot be forged into another order.
    invoice_payload: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    # While the order is reserved: the copy is held until then (database clock).
    reserved_until: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]


class Purchase(Timestamped, Base):
    __tablename__ = "purchases"
    __table_args__ = (
        CheckConstraint("price_stars > 0", name="price_positive"),
        # Sales charts and summaries aggregate purchases by day.
        Index(None, "created_at"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="RESTRICT"), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="RESTRICT"), index=True
    )
    price_stars: Mapped[int] = mapped_column(Integer)
    # Telegram's id of the payment: the same successful_payment seen twice inserts nothing.
    telegram_payment_charge_id: Mapped[str] = mapped_column(String(256), unique=True)
    status: Mapped[PurchaseStatus] = mapped_column(
        _str_enum(PurchaseStatus, "purchase_status"), server_default=PurchaseStatus.PAID.value
    )
    refunded_at: Mapped[datetime | None]


class OutboxMessage(Base):
    """Work that must happen after a commit (send a file, publish an event), done by a relay."""

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        # The relay's scan: open rows (neither delivered nor dead) that are due, oldest first.
        Index(
            "ix_outbox_due",
            "available_at",
            postgresql_where=text("delivered_at IS NULL AND dead_at IS NULL"),
        ),
        # Retention: rows delivered long ago, and rows dead long ago (few).
        Index(
            "ix_outbox_delivered_at",
            "delivered_at",
            postgresql_where=text("delivered_at IS NOT NULL"),
        ),
        Index(
            "ix_outbox_dead_at",
            "dead_at",
            postgresql_where=text("dead_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    # Makes writing the same intent twice a no-op (e.g. "deliver:<purchase id>").
    dedup_key: Mapped[str] = mapped_column(String(128), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    attempts: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    available_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    delivered_at: Mapped[datetime | None]
    # Given up after the last attempt; the admins were told (``last_error`` says why).
    dead_at: Mapped[datetime | None]


class TelegramUpdate(Base):
    """The inbox: updates seen, by Telegram's update_id.

    Money-carrying updates (pre_checkout_query, successful_payment) are written here before
    Telegram is told they were received, and marked processed after their transaction; a
    crash in between leaves them here to be processed at the next start. Every update's id
    is recorded so a repeated delivery (webhook retry, polling replay) is recognised.
    """

    __tablename__ = "telegram_updates"
    __table_args__ = (
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        # The replay's scan: open money updates that are due. Few rows: every other update
        # is recorded only for deduplication (no payload) and never matches.
        Index(
            "ix_telegram_updates_due",
            "next_attempt_at",
            postgresql_where=text("processed_at IS NULL AND payload IS NOT NULL"),
        ),
        # Retention: old rows, whichever rule decides they are closed (almost every row is
        # a candidate, so a partial index would save nothing and tie the index to the rule).
        Index("ix_telegram_updates_received_at_all", "received_at"),
    )

    update_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(32))
    # SQL NULL for an update without money (none_as_null: JSON's null would pass the
    # replay's "payload IS NOT NULL" and make every tap look like an unfinished payment).
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    received_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    # Closed: processed, expired or dead (``outcome`` says which); NULL while open.
    processed_at: Mapped[datetime | None]
    outcome: Mapped[UpdateOutcome | None] = mapped_column(
        _str_enum(UpdateOutcome, "update_outcome")
    )
    attempts: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))
    last_error: Mapped[str | None] = mapped_column(Text)
    # A failed attempt is retried from then on (exponential backoff).
    next_attempt_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class RefusedCharge(Base):
    """A charge Telegram reported that the shop gives back instead of delivering.

    One per Telegram charge id: a payment for a sold-out edition, a second charge of one
    order, a copy the shopper already owns, an amount or an order that does not match. The
    refund itself is an outbox row (``telegram.refund_charge``); ``refunded_at`` is set when
    Telegram confirmed it. Kept for accounting, like purchases.
    """

    __tablename__ = "refused_charges"
    __table_args__ = (CheckConstraint("amount >= 0", name="amount_not_negative"),)

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    telegram_payment_charge_id: Mapped[str] = mapped_column(String(256), unique=True)
    telegram_user_id: Mapped[int]
    # NULL when the payload named no order of the payer (then there is no product either).
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="RESTRICT"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"))
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(8))
    reason: Mapped[RefusalReason] = mapped_column(_str_enum(RefusalReason, "refusal_reason", 32))
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    refunded_at: Mapped[datetime | None]


class ImportStatus(StrEnum):
    # The files are stored; the plan job reads them (or waits for a worker).
    PLANNING = "planning"
    # Rows are planned and their jobs queued; the counters move as rows finish.
    RUNNING = "running"
    DONE = "done"
    # A whole file was refused (not a ZIP, no title column…): nothing was imported.
    REFUSED = "refused"


class ImportRowOutcome(StrEnum):
    PENDING = "pending"
    IMPORTED = "imported"
    ALREADY_IMPORTED = "already_imported"
    FAILED = "failed"


class ImportBatch(Timestamped, Base):
    """One bulk import: the admin's files, its progress message, its outcome.

    While it runs, its rows' outcomes (``import_rows``) are the count; the totals here are
    written when it is planned (rows, failed) and when it finishes (all of them).
    """

    __tablename__ = "import_batches"
    __table_args__ = (
        CheckConstraint(
            "imported + already_imported + failed <= rows_total AND imported >= 0"
            " AND already_imported >= 0 AND failed >= 0",
            name="counters_valid",
        ),
        # The bot's progress loop: imports whose final summary the admin has not seen yet.
        Index(
            "ix_import_batches_summary_unshown",
            "id",
            postgresql_where=text("summary_shown_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    admin_telegram_id: Mapped[int]
    chat_id: Mapped[int]
    # The one message edited in place with the progress bar, then the summary.
    progress_message_id: Mapped[int | None]
    # Where previews of the imported products are sent (None: only the storage chat).
    preview_chat_id: Mapped[int | None]
    # Objects in the ``imports`` bucket; no CSV key when the CSV is inside the ZIP.
    csv_key: Mapped[str | None] = mapped_column(String(200))
    zip_key: Mapped[str] = mapped_column(String(200))
    csv_name: Mapped[str | None] = mapped_column(String(256))
    zip_name: Mapped[str] = mapped_column(String(256))
    status: Mapped[ImportStatus] = mapped_column(
        _str_enum(ImportStatus, "import_status"), server_default=ImportStatus.PLANNING.value
    )
    # An ``ImportReason`` as JSON (code and arguments), not a sentence: see ``import_rows.reason``.
    refusal_reason: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    encoding: Mapped[str | None] = mapped_column(String(32))
    # The CSV's header, repeated at the top of the failed-rows report.
    header: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    rows_total: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    imported: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    already_imported: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    failed: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    # Rows done when the progress message was last edited (-1: not yet); edits only on change.
    progress_shown: Mapped[int] = mapped_column(Integer, server_default=text("-1"))
    summary_shown_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class ImportBatchRow(Base):
    """One CSV data row of an import: its cells as sent, then what became of it."""

    __tablename__ = "import_rows"
    __table_args__ = (
        # Deleting a product nulls its import rows.
        Index(None, "product_id"),
        # "Is any row of this import still pending?", asked after every row settles.
        Index(
            "ix_import_rows_pending",
            "batch_id",
            postgresql_where=text("outcome = 'pending'"),
        ),
    )

    batch_id: Mapped[int] = mapped_column(
        ForeignKey("import_batches.id", ondelete="CASCADE"), primary_key=True
    )
    # As Excel numbers it: the header is row 1.
    row_number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    outcome: Mapped[ImportRowOutcome] = mapped_column(
        _str_enum(ImportRowOutcome, "import_row_outcome"),
        server_default=ImportRowOutcome.PENDING.value,
    )
    # Why the row failed, as ``ImportReason.to_json`` (code and arguments) rather than a
    # sentence: it is rendered when shown, in the language of whoever reads it then (the
    # failed-rows report in the admin's language when the last row settles, the bot's
    # refusal in the admin's language when it posts it). A sentence stored at planning
    # time would freeze one language, and the worker would need the admin's language at
    # each of the places it fails a row rather than at the one place it reports them.
    reason: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    cells: Mapped[list[str]] = mapped_column(JSONB)
    # The product's stable identity (``vitrina_common.imports.row_key``) and what the row
    # job needs to create it; NULL for rows refused while planning.
    import_key: Mapped[str | None] = mapped_column(String(64))
    planned: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="SET NULL"))


class ScheduledTask(Base):
    """A periodic task of the worker (retention; reminders and digests to come): when it is
    due next by the database's clock, and how its last run went.

    Any worker replica may claim a due row (``vitrina_common.scheduling``); while a run
    holds it, ``due_at`` is the end of the run's lease, so the others see it as not due.
    """

    __tablename__ = "scheduled_tasks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    # A task new to the table is due at once.
    due_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    # Runs started so far; a run's number is its claim, so only the latest may finish it.
    runs: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    last_started_at: Mapped[datetime | None]
    last_finished_at: Mapped[datetime | None]
    # Why the last run failed; NULL when it succeeded.
    last_error: Mapped[str | None] = mapped_column(Text)
