"""The Telegram update inbox (``telegram_updates``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnClause,
    ColumnElement,
    Select,
    delete,
    func,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from vitrina_common.db.models import TelegramUpdate, UpdateOutcome

_ERROR_CHARS = 2000


class OpenUpdate(NamedTuple):
    """A money update not closed yet, locked by this transaction."""

    update_id: int
    kind: str
    payload: dict[str, Any]
    # Failed attempts so far.
    attempts: int
    # Since it was received, by the database clock (a pre-checkout has 10 s).
    age_s: float


# JSON's null: how the release before 0006 stored an update without money, and how one of
# its bots still does while a rolling upgrade runs. Not a payment to replay.
JSON_NULL: ColumnClause[Any] = literal_column("'null'::jsonb")


def _open_updates() -> Select[TelegramUpdate, float]:
    age = func.extract("epoch", func.now() - TelegramUpdate.received_at)
    return select(TelegramUpdate, age).where(
        TelegramUpdate.processed_at.is_(None),
        TelegramUpdate.payload.is_not(None),
        TelegramUpdate.payload != JSON_NULL,
    )


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

    async def lock_open(self, update_id: int) -> OpenUpdate | None:
        """This money update, locked, if it is still open and nobody else holds it."""
        return await self._first(_open_updates().where(TelegramUpdate.update_id == update_id))

    async def claim_due(self) -> OpenUpdate | None:
        """The open money update whose next attempt is due first, locked; others skip it."""
        return await self._first(
            _open_updates()
            .where(TelegramUpdate.next_attempt_at <= func.now())
            .order_by(TelegramUpdate.next_attempt_at, TelegramUpdate.update_id)
            .limit(1)
        )

    async def _first(self, query: Select[TelegramUpdate, float]) -> OpenUpdate | None:
        row = (await self._session.execute(query.with_for_update(skip_locked=True))).first()
        if row is None:
            return None
        found, age = row
        # The query asks for money updates only, which always carry their payload.
        payload = found.payload or {}
        return OpenUpdate(found.update_id, found.kind, payload, found.attempts, float(age))

    async def close(self, update_id: int, outcome: UpdateOutcome, error: str | None = None) -> None:
        """Closed for good: processed, expired or dead; a restart will not replay it."""
        values: dict[str, Any] = {"processed_at": func.now(), "outcome": outcome}
        if error is not None:
            values |= {"last_error": error[:_ERROR_CHARS], "attempts": TelegramUpdate.attempts + 1}
        await self._set(TelegramUpdate.update_id == update_id, values)

    async def record_failure(self, update_id: int, error: str, retry_in: timedelta) -> None:
        """One more failed attempt; the next one is due after ``retry_in``."""
        await self._set(
            TelegramUpdate.update_id == update_id,
            {
                "attempts": TelegramUpdate.attempts + 1,
                "last_error": error[:_ERROR_CHARS],
                "next_attempt_at": func.now() + retry_in,
            },
        )

    async def forget(self, update_id: int) -> None:
        """Delete the row: the update was not handled, and a redelivery must be."""
        await self._session.execute(
            delete(TelegramUpdate)
            .where(TelegramUpdate.update_id == update_id)
            .execution_options(synchronize_session=False)
        )

    async def _set(self, where: ColumnElement[bool], values: dict[str, Any]) -> None:
        await self._session.execute(
            update(TelegramUpdate)
            .where(where)
            .values(values)
            .execution_options(synchronize_session=False)
        )
