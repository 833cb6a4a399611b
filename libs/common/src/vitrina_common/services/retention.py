"""Retention: deleting rows that have served their purpose, as a periodic task of the worker.

What goes, and when (ages from ``RetentionSettings``): inbox updates that are settled or
never carried money, delivered outbox rows, dead inbox and outbox rows (after longer), the
rows of finished imports, the recipients of broadcasts that ended, settled notifications,
orders never paid whose invoice expired long ago, and support tickets closed long ago with
their conversations. What never goes: a money update not yet closed, a pending
notification, an open outbox row, the rows of an import still running, the import's
summary, paid orders, purchases and refused charges (the shop's accounting record) and the
orders they name.

Unlike other use cases this one commits once per chunk of at most ``chunk_rows`` rows,
not once per run: a run may delete millions of rows after a long pause, and one
transaction for all of them would hold their locks and their WAL until the end. Each
chunk stands on its own, so a run stopped half-way loses nothing and the next goes on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.config import RetentionSettings
from vitrina_common.logging import get_logger
from vitrina_common.repositories.retention import RetentionRepository
from vitrina_common.scheduling import PeriodicTask

log = get_logger(__name__)

SessionFactory = async_sessionmaker[AsyncSession]
RETENTION_TASK = "retention"
# Rows per DELETE: big enough to keep up, small enough that a chunk's locks are brief.
DEFAULT_CHUNK_ROWS = 5_000

DeleteChunk = Callable[[RetentionRepository, timedelta, int], Awaitable[int]]


class RetentionFailedError(RuntimeError):
    """Some tables could not be cleaned (the others were); the message names them."""


@dataclass(frozen=True)
class RetentionReport:
    """Rows one run deleted, per table."""

    telegram_updates: int
    dead_telegram_updates: int
    outbox: int
    dead_outbox: int
    import_rows: int
    orders: int
    tickets: int
    broadcast_recipients: int
    notifications: int = 0


class Retention:
    """One retention run over every table that grows with traffic."""

    def __init__(
        self,
        session_factory: SessionFactory,
        settings: RetentionSettings,
        *,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
    ) -> None:
        self._session_factory = session_factory
        self._settings = settings
        self._chunk_rows = chunk_rows

    async def __call__(self) -> RetentionReport:
        """Delete what is old enough, table by table; log and return the counts.

        One table's failure does not keep the others from being cleaned; it is logged,
        and raised as ``RetentionFailedError`` (naming the tables) once all had their turn.
        """
        settings, repository = self._settings, RetentionRepository
        rules: dict[str, tuple[DeleteChunk, int]] = {
            "telegram_updates": (repository.delete_closed_updates, settings.telegram_updates_days),
            "dead_telegram_updates": (repository.delete_dead_updates, settings.dead_days),
            "outbox": (repository.delete_delivered_outbox, settings.outbox_days),
            "dead_outbox": (repository.delete_dead_outbox, settings.dead_days),
            "import_rows": (repository.delete_finished_import_rows, settings.import_rows_days),
            "orders": (repository.delete_unpaid_orders, settings.unpaid_orders_days),
            "tickets": (repository.delete_closed_tickets, settings.closed_tickets_days),
            "broadcast_recipients": (
                repository.delete_ended_broadcast_recipients,
                settings.broadcast_recipients_days,
            ),
            "notifications": (
                repository.delete_settled_notifications,
                settings.notifications_days,
            ),
        }
        counts: dict[str, int] = {}
        failures: list[str] = []
        for table, (delete_chunk, days) in rules.items():
            counts[table], error = await self._delete_all(delete_chunk, days)
            if error is not None:
                log.error("retention failed on a table", table=table, error=str(error))
                failures.append(f"{table}: {type(error).__name__}: {error}")
        report = RetentionReport(**counts)
        log.info("retention deleted old rows", **asdict(report))
        if failures:
            raise RetentionFailedError("; ".join(failures))
        return report

    async def _delete_all(
        self, delete_chunk: DeleteChunk, days: int
    ) -> tuple[int, Exception | None]:
        """Delete chunk after chunk, each in its own transaction, until one comes back
        short; the rows deleted, and the error that stopped it early, if one did."""
        total = 0
        try:
            while True:
                async with self._session_factory() as session, session.begin():
                    deleted = await delete_chunk(
                        RetentionRepository(session), timedelta(days=days), self._chunk_rows
                    )
                total += deleted
                if deleted < self._chunk_rows:
                    return total, None
        except Exception as error:  # noqa: BLE001  (reported with the run; the next table goes on)
            return total, error


def retention_task(
    session_factory: SessionFactory,
    settings: RetentionSettings,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> PeriodicTask:
    """Retention as the scheduler's periodic task, every ``settings.interval_minutes``."""
    return PeriodicTask(
        RETENTION_TASK,
        timedelta(minutes=settings.interval_minutes),
        Retention(session_factory, settings, chunk_rows=chunk_rows),
    )
