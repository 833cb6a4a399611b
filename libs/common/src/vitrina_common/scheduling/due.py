"""Due items: things to do at a time (a reservation expiring, a reminder, a digest), one row
each in ``due_items``, handled exactly once by whichever worker replica claims it.

A use case schedules one with ``schedule_due`` in its own transaction (so the item exists
exactly when the change that wants it commits) and names it by ``(kind, key)``: scheduling
the same again moves it, ``cancel_due`` drops it. The worker runs the kind's handler inside
the transaction that claims and deletes the item (``runner.DueRunner``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from vitrina_common.db.models import DueItemRow
from vitrina_common.repositories.due_items import DueItemRepository


@dataclass(frozen=True)
class DueItem:
    """What a handler is given: the item as it was claimed."""

    id: int
    kind: str
    key: str
    due_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)
    # Failed handlings before this one.
    attempts: int = 0

    @classmethod
    def of(cls, row: DueItemRow) -> DueItem:
        """The claimed row, as a value."""
        return cls(row.id, row.kind, row.key, row.due_at, dict(row.payload), row.attempts)


# Runs in the claiming transaction: it must not commit, and must not call Telegram (it
# enqueues a notification instead), so that its effects and the item's removal are one.
DueHandler = Callable[[AsyncSession, DueItem], Awaitable[None]]


async def schedule_due(
    session: AsyncSession,
    *,
    kind: str,
    key: str,
    due_at: datetime,
    payload: Mapping[str, Any] | None = None,
) -> None:
    """Have ``kind``'s handler run at ``due_at`` (timezone-aware) for ``key``. Scheduling
    ``(kind, key)`` again moves it and replaces its payload. Never commits."""
    if due_at.tzinfo is None:
        raise ValueError("due_at must be timezone-aware")
    await DueItemRepository(session).upsert(kind, key, due_at, payload or {})


async def cancel_due(session: AsyncSession, *, kind: str, key: str) -> None:
    """Drop ``(kind, key)``; nothing happens if it is not scheduled. Never commits."""
    await DueItemRepository(session).remove(kind, key)


async def find_due(session: AsyncSession, *, kind: str, key: str) -> DueItem | None:
    """The scheduled item ``(kind, key)``, None if there is none."""
    row = await DueItemRepository(session).find(kind, key)
    return None if row is None else DueItem.of(row)
