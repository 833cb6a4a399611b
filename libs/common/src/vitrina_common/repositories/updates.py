"""The Telegram update inbox (``telegram_updates``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from vitrina_common.db.models import TelegramUpdate


class UpdateRepository:
    """Reads and writes inbox rows inside the caller's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def insert_new(self, rows: list[dict[str, Any]]) -> set[int]:
        """Insert rows (update_id, kind, payload) that are not there yet; their ids."""
        if not rows:
            return set()
        result = await self._session.execute(
            insert(TelegramUpdate)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["update_id"])
            .returning(TelegramUpdate.update_id)
        )
        return {int(update_id) for update_id in result.scalars()}

    async def mark_processed(self, update_id: int) -> None:
        """Processed: a restart will not replay it."""
        await self._session.execute(
            update(TelegramUpdate)
            .where(TelegramUpdate.update_id == update_id)
            .values(processed_at=func.now())
            .execution_options(synchronize_session=False)
        )

    async def claim_unprocessed(self, older_than: timedelta, limit: int) -> list[TelegramUpdate]:
        """Unprocessed money updates received before ``older_than`` ago, locked for us."""
        result = await self._session.execute(
            select(TelegramUpdate)
            .where(
                TelegramUpdate.processed_at.is_(None),
                TelegramUpdate.payload.is_not(None),
                TelegramUpdate.received_at <= func.now() - older_than,
            )
            .order_by(TelegramUpdate.update_id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(result.scalars())
