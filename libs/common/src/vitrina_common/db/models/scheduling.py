"""The schedule of the worker's periodic tasks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text, text
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
