"""Due items (``due_items``): scheduling, claims and outcomes, inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from vitrina_common.db.models import DueItemRow

# An item's last error is recorded, not its traceback (that goes to the log).
_ERROR_CHARS = 2000


class DueItemRepository:
    """Reads and writes ``due_items``; never commits."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def upsert(
        self, kind: str, key: str, due_at: datetime, payload: Mapping[str, Any]
    ) -> None:
        """Schedule ``(kind, key)`` at ``due_at``; an existing item moves there, takes the
        new payload and starts afresh (no attempts, alive)."""
        fresh = {"due_at": due_at, "payload": dict(payload), "attempts": 0}
        statement = insert(DueItemRow).values(kind=kind, key=key, **fresh)
        await self._session.execute(
            statement.on_conflict_do_update(
                index_elements=["kind", "key"],
                set_={**fresh, "last_error": None, "dead_at": None},
            )
        )

    async def remove(self, kind: str, key: str) -> None:
        """Drop ``(kind, key)`` if it is scheduled."""
        await self._session.execute(
            delete(DueItemRow).where(DueItemRow.kind == kind, DueItemRow.key == key)
        )

    async def find(self, kind: str, key: str) -> DueItemRow | None:
        """The item ``(kind, key)``, if scheduled."""
        return await self._session.scalar(
            select(DueItemRow).where(DueItemRow.kind == kind, DueItemRow.key == key)
        )

    async def lock_due(
        self, now: datetime, limit: int, among: Sequence[int] | None = None
    ) -> list[DueItemRow]:
        """Up to ``limit`` live items due by ``now`` (only ids ``among``, if given), soonest
        first, locked for this transaction; items another replica holds are skipped, not
        waited for."""
        query = select(DueItemRow).where(DueItemRow.due_at <= now, DueItemRow.dead_at.is_(None))
        if among is not None:
            query = query.where(DueItemRow.id.in_(list(among)))
        result = await self._session.scalars(
            query.order_by(DueItemRow.due_at).limit(limit).with_for_update(skip_locked=True)
        )
        return list(result)

    async def delete(self, item_ids: Sequence[int]) -> None:
        """Remove handled items."""
        await self._session.execute(delete(DueItemRow).where(DueItemRow.id.in_(list(item_ids))))

    async def postpone(self, item_id: int, due_at: datetime, error: str) -> None:
        """Record a failed handling: one more attempt, due again at ``due_at``."""
        await self._session.execute(
            update(DueItemRow)
            .where(DueItemRow.id == item_id)
            .values(
                attempts=DueItemRow.attempts + 1, due_at=due_at, last_error=error[:_ERROR_CHARS]
            )
        )

    async def bury(self, item_id: int, now: datetime, reason: str) -> None:
        """Keep the item but claim it no more (``dead_at``), with ``reason``."""
        await self._session.execute(
            update(DueItemRow)
            .where(DueItemRow.id == item_id)
            .values(dead_at=now, last_error=reason[:_ERROR_CHARS])
        )

    async def revive(self, kinds: Collection[str]) -> int:
        """Make the dead items of ``kinds`` live again (their handler exists now); how many."""
        result = await self._session.execute(
            update(DueItemRow)
            .where(DueItemRow.kind.in_(list(kinds)), DueItemRow.dead_at.is_not(None))
            .values(dead_at=None)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
