"""Expand/contract, release by release: the money path of the previous release, statement
for statement, still succeeds on the head schema (see "Migrations on a live shop" in the
README).

The previous release is the code before revision 0006 (commit f837ebd, schema 0005). Its
statements below are what that commit's own code sent, captured by a
``before_cursor_execute`` listener on its engine (its ``libs/common/src``, from
``git archive``, first on ``PYTHONPATH``; a database at 0005) while it ran a purchase:
``UpdateInbox.admit``, ``StartCheckout``, ``CheckPreCheckout``,
``UpdateInbox.mark_processed``, ``RecordSuccessfulPayment``, ``UpdateInbox.replay`` and
two passes of ``OutboxRelay.deliver_due`` (one failing), after a shopper, a category and a
product were written by ``UserRepository``, ``CategoryRepository`` and
``ProductRepository``. The SQL is verbatim (whitespace aside), with the same bind
parameter types; the values are this test's. They run on a database at 0005 first (the
snapshot must fit its own schema), then again after an upgrade to head over the rows they
wrote.

What that proves: the tables, columns, types, enum values, unique indexes behind its
``ON CONFLICT`` clauses and locking clauses that release relied on for taking money are
still there at head, and its inserts satisfy head's NOT NULLs and CHECKs. What it does
not: every statement of that release (browsing, admin, imports are covered only column by
column, by ``test_migrations_compat.py``), that it behaves the same (a trigger or a
default could change a result), or that head's code reads its rows as it meant them:
the last test pins one way it does not. When the next release ships, capture its money
path the same way and replace the statements.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import asyncpg
import pytest
from alembic import command

from tests.conftest import alembic_config, asyncpg_url, db_settings_for
from vitrina_common.db.engine import create_engine, create_session_factory
from vitrina_common.repositories.updates import UpdateRepository

pytestmark = pytest.mark.postgres

PREVIOUS_RELEASE_SCHEMA = "0005"

UPSERT_USER = (
    "INSERT INTO users (telegram_id, username, first_name, language) VALUES ($1::BIGINT, "
    "$2::VARCHAR, $3::VARCHAR, $4) ON CONFLICT (telegram_id) DO UPDATE SET username = "
    "$5::VARCHAR, first_name = $6::VARCHAR, is_blocked = $7::BOOLEAN RETURNING users.id, "
    "users.telegram_id, users.username, users.first_name, users.email, users.language, "
    "users.is_blocked, users.is_banned, users.admin_comment, users.created_at, "
    "users.updated_at"
)
ADD_CATEGORY = (
    "INSERT INTO categories (title, position) VALUES ($1::VARCHAR, (SELECT "
    "coalesce(max(categories.position) + $2::INTEGER, $3::INTEGER) AS coalesce_1 FROM "
    "categories)) ON CONFLICT (title) DO NOTHING RETURNING categories.id"
)
ADD_PRODUCT = (
    "INSERT INTO products (category_id, title, price_stars, status, failure_reason, "
    "edition_size, original_key, original_sha256, original_size, original_mime, "
    "original_file_id, preview_key, preview_file_id, import_key) VALUES ($1::BIGINT, "
    "$2::VARCHAR, $3::INTEGER, $4, $5::VARCHAR, $6::INTEGER, $7::VARCHAR, $8::VARCHAR, "
    "$9::BIGINT, $10::VARCHAR, $11::VARCHAR, $12::VARCHAR, $13::VARCHAR, $14::VARCHAR) "
    "RETURNING products.id, products.description, products.created_at, products.updated_at"
)
ADMIT_TWO_UPDATES = (
    "INSERT INTO telegram_updates (update_id, kind, payload) VALUES ($1::BIGINT, $2::VARCHAR, "
    "$3::JSONB), ($4::BIGINT, $5::VARCHAR, $6::JSONB) ON CONFLICT (update_id) DO NOTHING "
    "RETURNING telegram_updates.update_id"
)
ADMIT_ONE_UPDATE = (
    "INSERT INTO telegram_updates (update_id, kind, payload) VALUES ($1::BIGINT, $2::VARCHAR, "
    "$3::JSONB) ON CONFLICT (update_id) DO NOTHING RETURNING telegram_updates.update_id"
)
USER_BY_TELEGRAM_ID = (
    "SELECT users.id, users.telegram_id, users.username, users.first_name, users.email, "
    "users.language, users.is_blocked, users.is_banned, users.admin_comment, "
    "users.created_at, users.updated_at FROM users WHERE users.telegram_id = $1::BIGINT"
)
PRODUCT_BY_ID = (
    "SELECT products.id, products.category_id, products.title, products.description, "
    "products.price_stars, products.status, products.failure_reason, products.edition_size, "
    "products.original_key, products.original_sha256, products.original_size, "
    "products.original_mime, products.original_file_id, products.preview_key, "
    "products.preview_file_id, products.import_key, products.created_at, "
    "products.updated_at FROM products WHERE products.id = $1::BIGINT"
)
SALES = (
    "SELECT count(*) AS count_1, count(*) FILTER (WHERE purchases.user_id = $1::BIGINT) AS "
    "anon_1 FROM purchases WHERE purchases.product_id = $2::BIGINT AND purchases.status = $3"
)
ADD_PENDING_ORDER = (
    "INSERT INTO orders (user_id, product_id, price_stars, invoice_payload, expires_at) "
    "VALUES ($1::BIGINT, $2::BIGINT, $3::INTEGER, $4::VARCHAR, (now() + $5::INTERVAL)) "
    "RETURNING orders.id, orders.user_id, orders.product_id, orders.price_stars, "
    "orders.status, orders.invoice_payload, orders.expires_at, orders.paid_at, "
    "orders.created_at, orders.updated_at"
)
ORDER_BY_PAYLOAD = (
    "SELECT orders.id, orders.user_id, orders.product_id, orders.price_stars, "
    "orders.status, orders.invoice_payload, orders.expires_at, orders.paid_at, "
    "orders.created_at, orders.updated_at, products.id AS id_1, products.category_id, "
    "products.title, products.description, products.price_stars AS price_stars_1, "
    "products.status AS status_1, products.failure_reason, products.edition_size, "
    "products.original_key, products.original_sha256, products.original_size, "
    "products.original_mime, products.original_file_id, products.preview_key, "
    "products.preview_file_id, products.import_key, products.created_at AS created_at_1, "
    "products.updated_at AS updated_at_1, users.telegram_id, orders.expires_at > now() AS "
    "anon_1 FROM orders JOIN products ON products.id = orders.product_id JOIN users ON "
    "users.id = orders.user_id WHERE orders.invoice_payload = $1::VARCHAR"
)
ORDER_BY_PAYLOAD_LOCKED = ORDER_BY_PAYLOAD + " FOR UPDATE OF orders"
MARK_UPDATE_PROCESSED = (
    "UPDATE telegram_updates SET processed_at=now() WHERE telegram_updates.update_id = $1::BIGINT"
)
PURCHASE_BY_CHARGE_ID = (
    "SELECT purchases.id, purchases.order_id, purchases.user_id, purchases.product_id, "
    "purchases.price_stars, purchases.telegram_payment_charge_id, purchases.status, "
    "purchases.refunded_at, purchases.created_at, purchases.updated_at FROM purchases WHERE "
    "purchases.telegram_payment_charge_id = $1::VARCHAR"
)
PURCHASE_EXISTS_FOR_ORDER = (
    "SELECT EXISTS (SELECT * FROM purchases WHERE purchases.order_id = $1::BIGINT) AS anon_1"
)
ADD_PURCHASE_ONCE = (
    "INSERT INTO purchases (order_id, user_id, product_id, price_stars, "
    "telegram_payment_charge_id) VALUES ($1::BIGINT, $2::BIGINT, $3::BIGINT, $4::INTEGER, "
    "$5::VARCHAR) ON CONFLICT (telegram_payment_charge_id) DO NOTHING RETURNING purchases.id"
)
MARK_ORDER_PAID = (
    "UPDATE orders SET status=$1, paid_at=now(), updated_at=now() WHERE orders.id = "
    "$2::BIGINT AND orders.status != $3"
)
ADD_OUTBOX = (
    "INSERT INTO outbox (kind, dedup_key, payload) VALUES ($1::VARCHAR, $2::VARCHAR, "
    "$3::JSONB) ON CONFLICT (dedup_key) DO NOTHING RETURNING outbox.id"
)
CLAIM_UNPROCESSED_UPDATES = (
    "SELECT telegram_updates.update_id, telegram_updates.kind, telegram_updates.payload, "
    "telegram_updates.received_at, telegram_updates.processed_at FROM telegram_updates WHERE "
    "telegram_updates.processed_at IS NULL AND telegram_updates.payload IS NOT NULL AND "
    "telegram_updates.received_at <= now() - $1::INTERVAL ORDER BY telegram_updates.update_id "
    "LIMIT $2::INTEGER FOR UPDATE SKIP LOCKED"
)
CLAIM_DUE_OUTBOX = (
    "SELECT outbox.id, outbox.kind, outbox.dedup_key, outbox.payload, outbox.attempts, "
    "outbox.last_error, outbox.created_at, outbox.available_at, outbox.delivered_at FROM "
    "outbox WHERE outbox.delivered_at IS NULL AND outbox.available_at <= now() AND "
    "outbox.kind IN ($2::VARCHAR) ORDER BY outbox.available_at, outbox.id LIMIT $1::INTEGER "
    "FOR UPDATE SKIP LOCKED"
)
RESCHEDULE_OUTBOX = (
    "UPDATE outbox SET attempts=(outbox.attempts + $1::SMALLINT), last_error=$2::VARCHAR, "
    "available_at=(now() + $3::INTERVAL) WHERE outbox.id = $4::BIGINT"
)
MARK_OUTBOX_DELIVERED = "UPDATE outbox SET delivered_at=now() WHERE outbox.id IN ($1::BIGINT)"

SEND_ORIGINAL = "telegram.send_original"


async def _shop(connection: asyncpg.Connection, run: int) -> tuple[int, int]:
    """A shopper, a category and a ready product, as that release wrote them."""
    telegram_id = 7000 + run
    await connection.fetchrow(
        UPSERT_USER, telegram_id, "buyer", "Buyer", "en", "buyer", "Buyer", False
    )
    category_id = await connection.fetchval(ADD_CATEGORY, f"Prints {run}", 1, 0)
    product_id = await connection.fetchval(
        ADD_PRODUCT, category_id, "Harbour", 5, "ready", None, None, f"originals/{run}",
        "0" * 64, 1024, "image/png", None, None, None, None,
    )  # fmt: skip
    return telegram_id, product_id


async def _buy(connection: asyncpg.Connection, run: int) -> None:
    """One purchase through the release's money path, one use case per transaction."""
    telegram_id, product_id = await _shop(connection, run)
    message, pre_checkout, payment = 100 * run + 1, 100 * run + 2, 100 * run + 3
    payload, charge = f"payload-{run}", f"charge-{run}"
    # UpdateInbox.admit: updates without money were stored with JSON's null.
    admitted = await connection.fetch(
        ADMIT_TWO_UPDATES, message, "message", "null", pre_checkout, "pre_checkout_query", "{}"
    )
    assert len(admitted) == 2
    async with connection.transaction():  # StartCheckout
        user = await connection.fetchrow(USER_BY_TELEGRAM_ID, telegram_id)
        assert user is not None
        assert await connection.fetchrow(PRODUCT_BY_ID, product_id) is not None
        await connection.fetchrow(SALES, user["id"], product_id, "paid")
        order = await connection.fetchrow(
            ADD_PENDING_ORDER, user["id"], product_id, 5, payload, timedelta(minutes=15)
        )
        assert order["status"] == "pending"
    async with connection.transaction():  # CheckPreCheckout
        context = await connection.fetchrow(ORDER_BY_PAYLOAD, payload)
        assert context["anon_1"] is True
        await connection.fetchrow(SALES, user["id"], product_id, "paid")
    await connection.execute(MARK_UPDATE_PROCESSED, pre_checkout)
    await connection.fetch(ADMIT_ONE_UPDATE, payment, "successful_payment", "{}")
    async with connection.transaction():  # RecordSuccessfulPayment
        await _record_payment(connection, payload, charge, order["id"], user["id"], product_id)
    async with connection.transaction():  # UpdateInbox.replay
        claimed = await connection.fetch(CLAIM_UNPROCESSED_UPDATES, timedelta(0), 100)
        assert payment in {row["update_id"] for row in claimed}
        await connection.execute(MARK_UPDATE_PROCESSED, payment)
    await _relay(connection, run)


async def _record_payment(
    connection: asyncpg.Connection,
    payload: str,
    charge: str,
    order_id: int,
    user_id: int,
    product_id: int,
) -> None:
    assert await connection.fetchrow(ORDER_BY_PAYLOAD_LOCKED, payload)
    assert await connection.fetchrow(PURCHASE_BY_CHARGE_ID, charge) is None
    await connection.fetchrow(SALES, user_id, product_id, "paid")
    assert await connection.fetchval(PURCHASE_EXISTS_FOR_ORDER, order_id) is False
    purchase_id = await connection.fetchval(
        ADD_PURCHASE_ONCE, order_id, user_id, product_id, 5, charge
    )
    assert purchase_id is not None
    assert await connection.execute(MARK_ORDER_PAID, "paid", order_id, "paid") == "UPDATE 1"
    body = f'{{"purchase_id": {purchase_id}, "chat_id": 42}}'
    assert await connection.fetchval(ADD_OUTBOX, SEND_ORIGINAL, f"deliver:{purchase_id}", body)


async def _relay(connection: asyncpg.Connection, run: int) -> None:
    """OutboxRelay.deliver_due twice: the first delivery fails, the second succeeds."""
    async with connection.transaction():
        rows = await connection.fetch(CLAIM_DUE_OUTBOX, 50, SEND_ORIGINAL)
        assert len(rows) == 1
        await connection.execute(
            RESCHEDULE_OUTBOX, 1, f"RuntimeError: run {run}", timedelta(0), rows[0]["id"]
        )
    async with connection.transaction():
        rows = await connection.fetch(CLAIM_DUE_OUTBOX, 50, SEND_ORIGINAL)
        assert [row["attempts"] for row in rows] == [1]
        assert await connection.execute(MARK_OUTBOX_DELIVERED, rows[0]["id"]) == "UPDATE 1"


@asynccontextmanager
async def _connected(dsn: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(dsn)
    try:
        yield connection
    finally:
        await connection.close()


async def _previous_release_bought_then_upgraded(dsn: str) -> None:
    config = alembic_config(asyncpg_url(dsn))
    await asyncio.to_thread(command.upgrade, config, PREVIOUS_RELEASE_SCHEMA)
    async with _connected(dsn) as connection:
        await _buy(connection, run=1)
    await asyncio.to_thread(command.upgrade, config, "head")


async def test_previous_release_money_path_succeeds_on_the_head_schema(
    empty_database: str,
) -> None:
    await _previous_release_bought_then_upgraded(empty_database)

    async with _connected(empty_database) as connection:
        await _buy(connection, run=2)


async def test_updates_the_previous_release_writes_on_head_are_not_replayed_as_money(
    empty_database: str,
) -> None:
    await _previous_release_bought_then_upgraded(empty_database)
    async with _connected(empty_database) as connection:
        await _buy(connection, run=2)

    engine = create_engine(db_settings_for(empty_database))
    try:
        async with create_session_factory(engine)() as session, session.begin():
            claimed = await UpdateRepository(session).claim_due()
    finally:
        await engine.dispose()

    assert claimed is None
