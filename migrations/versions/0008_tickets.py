"""Support tickets (tickets, their comments and status events, the table of allowed moves)
and the HTTP API's staff tokens.

Only new tables: the foreign keys they hold to ``users`` and ``purchases`` are created with
them, so nothing is scanned (a new table is empty) and those tables are locked only for
the moment it takes (SHARE ROW EXCLUSIVE, under ``lock_timeout``).

``ticket_transitions`` is seeded from ``vitrina_common.tickets.status.TRANSITIONS``, the
one place the moves are written. A later change to that table needs a revision of its
own that inserts and deletes the difference (a test compares the table with the code).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 07:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from vitrina_common.tickets.status import TRANSITIONS, TicketStatus

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Why a trigger and not only the foreign key: a foreign key sees the row as written, not
# the value it replaces, so it cannot tell "answered → closed" (allowed) from
# "closed → answered" (refused). The composite foreign key from ticket_events still
# guards the record of the moves; the trigger guards the ticket itself, whoever writes it
# (a use case, an API, psql). Under the use cases' row lock (SELECT … FOR UPDATE), OLD is
# the status they checked.
_GUARD_FUNCTION = """
CREATE FUNCTION ticket_status_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'open' THEN
            RAISE EXCEPTION 'a ticket starts open, not %', NEW.status
                USING ERRCODE = 'check_violation';
        END IF;
    ELSIF NOT EXISTS (
        SELECT 1 FROM ticket_transitions
        WHERE from_status = OLD.status AND to_status = NEW.status
    ) THEN
        RAISE EXCEPTION 'ticket %: % -> % is not an allowed move', OLD.id, OLD.status, NEW.status
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$
"""
_GUARD_TRIGGERS = (
    "CREATE TRIGGER tickets_status_insert BEFORE INSERT ON tickets"
    " FOR EACH ROW EXECUTE FUNCTION ticket_status_guard()",
    "CREATE TRIGGER tickets_status_move BEFORE UPDATE OF status ON tickets"
    " FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)"
    " EXECUTE FUNCTION ticket_status_guard()",
)


def _status(name: str, constraint: str, *, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(
        name,
        sa.Enum(
            *[status.value for status in TicketStatus],
            name=constraint,
            native_enum=False,
            create_constraint=True,
            length=16,
        ),
        nullable=nullable,
    )


def _actor(name: str, constraint: str) -> sa.Column[str]:
    return sa.Column(
        name,
        sa.Enum(
            "author",
            "staff",
            "api_token",
            name=constraint,
            native_enum=False,
            create_constraint=True,
            length=16,
        ),
        nullable=False,
    )


def _api_tokens() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(), nullable=False),
        sa.Column("scopes", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "scopes <@ ARRAY['read', 'write']::text[]", name=op.f("ck_api_tokens_known_scopes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )


def _transitions() -> None:
    table = op.create_table(
        "ticket_transitions",
        _status("from_status", "ticket_transition_from"),
        _status("to_status", "ticket_transition_to"),
        sa.PrimaryKeyConstraint("from_status", "to_status", name=op.f("pk_ticket_transitions")),
    )
    op.bulk_insert(
        table,
        [
            {"from_status": source.value, "to_status": target.value}
            for source, target in sorted(TRANSITIONS)
        ],
    )


def _tickets() -> None:
    op.create_table(
        "tickets",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("author_id", sa.BigInteger(), nullable=False),
        sa.Column("purchase_id", sa.BigInteger(), nullable=True),
        sa.Column("subject", sa.String(length=128), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                *[status.value for status in TicketStatus],
                name="ticket_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            server_default="open",
            nullable=False,
        ),
        sa.Column("assignee_telegram_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "waiting_since",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_tickets_author_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["purchase_id"],
            ["purchases.id"],
            name=op.f("fk_tickets_purchase_id_purchases"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
    )
    op.create_index(op.f("ix_tickets_created_at_id"), "tickets", ["created_at", "id"])
    op.create_index(
        op.f("ix_tickets_author_id_created_at_id"), "tickets", ["author_id", "created_at", "id"]
    )
    op.create_index(op.f("ix_tickets_purchase_id"), "tickets", ["purchase_id"])
    op.create_index(op.f("ix_tickets_assignee_telegram_id"), "tickets", ["assignee_telegram_id"])
    op.create_index(
        "ix_tickets_waiting_since",
        "tickets",
        ["waiting_since"],
        postgresql_where=sa.text("waiting_since IS NOT NULL"),
    )
    op.execute(_GUARD_FUNCTION)
    for trigger in _GUARD_TRIGGERS:
        op.execute(trigger)


def _comments() -> None:
    op.create_table(
        "ticket_comments",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        _actor("author_kind", "comment_author_kind"),
        sa.Column("author_telegram_id", sa.BigInteger(), nullable=True),
        sa.Column("author_token_id", sa.BigInteger(), nullable=True),
        sa.Column("text", sa.Text(), server_default="", nullable=False),
        sa.Column("file_id", sa.String(length=256), nullable=True),
        sa.Column(
            "file_kind",
            sa.Enum(
                "photo",
                "document",
                name="attachment_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=True,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "char_length(text) <= 4000", name=op.f("ck_ticket_comments_text_within_limit")
        ),
        sa.CheckConstraint(
            "text <> '' OR file_id IS NOT NULL", name=op.f("ck_ticket_comments_text_or_file")
        ),
        sa.CheckConstraint(
            "(file_id IS NULL) = (file_kind IS NULL)", name=op.f("ck_ticket_comments_file_has_kind")
        ),
        sa.CheckConstraint(
            "(author_kind = 'api_token') = (author_token_id IS NOT NULL)"
            " AND (author_kind = 'api_token') = (author_telegram_id IS NULL)",
            name=op.f("ck_ticket_comments_author_identified"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_comments_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["author_token_id"],
            ["api_tokens.id"],
            name=op.f("fk_ticket_comments_author_token_id_api_tokens"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_comments")),
    )
    op.create_index(op.f("ix_ticket_comments_ticket_id_id"), "ticket_comments", ["ticket_id", "id"])


def _events() -> None:
    op.create_table(
        "ticket_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        _actor("actor_kind", "event_actor_kind"),
        sa.Column("actor_telegram_id", sa.BigInteger(), nullable=True),
        sa.Column("actor_token_id", sa.BigInteger(), nullable=True),
        _status("from_status", "event_from_status", nullable=True),
        _status("to_status", "event_to_status"),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "from_status IS NOT NULL OR to_status = 'open'",
            name=op.f("ck_ticket_events_created_open"),
        ),
        sa.CheckConstraint(
            "(actor_kind = 'api_token') = (actor_token_id IS NOT NULL)"
            " AND (actor_kind = 'api_token') = (actor_telegram_id IS NULL)",
            name=op.f("ck_ticket_events_actor_identified"),
        ),
        sa.ForeignKeyConstraint(
            ["from_status", "to_status"],
            ["ticket_transitions.from_status", "ticket_transitions.to_status"],
            name=op.f("fk_ticket_events_from_status_ticket_transitions"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_events_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["actor_token_id"],
            ["api_tokens.id"],
            name=op.f("fk_ticket_events_actor_token_id_api_tokens"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_events")),
    )
    op.create_index(op.f("ix_ticket_events_ticket_id_id"), "ticket_events", ["ticket_id", "id"])


def upgrade() -> None:
    _api_tokens()
    _transitions()
    _tickets()
    _comments()
    _events()


def downgrade() -> None:
    op.drop_table("ticket_events")
    op.drop_table("ticket_comments")
    op.drop_table("tickets")
    op.execute("DROP FUNCTION ticket_status_guard()")
    op.drop_table("ticket_transitions")
    op.drop_table("api_tokens")
