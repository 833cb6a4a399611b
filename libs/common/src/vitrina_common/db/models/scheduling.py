"""The schedule of the worker: periodic tasks and due items."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Identity, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from vitrina_common.db.base import Base


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


class DueItemRow(Base):
    """One thing to do at ``due_at`` (a reservation expiring, a reminder, a digest), by
    whichever worker replica claims it (``vitrina_common.scheduling.due``).

    ``(kind, key)`` names it: scheduling it again moves it. It is deleted in the transaction
    that handles it, so handling and removal commit together, once.
    """

    __tablename__ = "due_items"
    __table_args__ = (
        UniqueConstraint("kind", "key"),
        # The replicas' claim: live items, soonest first.
        Index("ix_due_items_due", "due_at", postgresql_where=text("dead_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(200))
    due_at: Mapped[datetime]
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    # Failed handlings so far; each failure puts ``due_at`` back by a growing delay.
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    last_error: Mapped[str | None] = mapped_column(Text)
    # Set when no worker knew the kind; a worker that knows it revives the item at start.
    dead_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class SchedulerProbe(Base):
    """Diagnostics: one row per ``scheduler-probe`` due item handled, by which replica.
    Written only when ``APP_CONF__SCHEDULING__PROBE_ENABLED`` is on; no constraint on
    ``key``, so an item handled twice would show as two rows."""

    __tablename__ = "scheduler_probes"

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), index=True)
    handled_by: Mapped[str] = mapped_column(String(200))
    handled_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
