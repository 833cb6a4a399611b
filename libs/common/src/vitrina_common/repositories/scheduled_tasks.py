"""The schedule of periodic tasks (``scheduled_tasks``): claims and outcomes of their runs."""

from __future__ import annotations

from collections.abc import Collection
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from vitrina_common.db.models import ScheduledTask

# A run's outcome is recorded, not its traceback (that goes to the log).
_ERROR_CHARS = 2000


class ScheduledTaskRepository:
    """Reads and writes ``scheduled_tasks`` inside the caller's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def ensure(self, names: Collection[str]) -> None:
        """Give each of ``names`` a row, due at once when new; existing rows keep their
        schedule (a restart neither repeats nor skips a run)."""
        await self._session.execute(
            insert(ScheduledTask)
            .values([{"name": name} for name in names])
            .on_conflict_do_nothing(index_elements=["name"])
        )

    async def lock_due(self, names: Collection[str]) -> str | None:
        """One task among ``names`` that is due (the longest overdue), locked for this
        transaction; other replicas skip it. None when none is due or all are locked."""
        result = await self._session.execute(
            select(ScheduledTask.name)
            .where(ScheduledTask.name.in_(list(names)), ScheduledTask.due_at <= func.now())
            .order_by(ScheduledTask.due_at)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        return result.scalar_one_or_none()

    async def start_run(self, name: str, lease: timedelta) -> int:
        """Record that a run of ``name`` starts and hold the task for ``lease`` (it is not
        due until then); the run's number, which its outcome must name."""
        result = await self._session.execute(
            update(ScheduledTask)
            .where(ScheduledTask.name == name)
            .values(
                runs=ScheduledTask.runs + 1,
                last_started_at=func.now(),
                due_at=func.now() + lease,
            )
            .returning(ScheduledTask.runs)
        )
        return int(result.scalar_one())

    async def finish_run(
        self, name: str, run: int, next_due_in: timedelta, error: str | None
    ) -> bool:
        """Record how run ``run`` of ``name`` ended (``error`` None: it succeeded) and when
        the task is due next. False, and nothing written, when a later run has started
        since (this one outlived its lease)."""
        result = await self._session.execute(
            update(ScheduledTask)
            .where(ScheduledTask.name == name, ScheduledTask.runs == run)
            .values(
                last_finished_at=func.now(),
                last_error=error[:_ERROR_CHARS] if error is not None else None,
                due_at=func.now() + next_due_in,
            )
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]
