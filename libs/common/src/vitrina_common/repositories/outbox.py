"""The transactional outbox: intents written with the business change, delivered after."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from vitrina_common.db.models import OutboxMessage
from vitrina_common.observability.outbox_telemetry import with_trace_context

# Rows per INSERT statement: asyncpg caps one statement at 32 767 parameters.
_INSERT_CHUNK = 5_000


class OutboxRepository:
    """Reads and writes ``outbox`` inside the caller's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, kind: str, dedup_key: str, payload: dict[str, Any]) -> None:
        """Record an intent; the same ``dedup_key`` twice records it once."""
        await self._session.execute(
            insert(OutboxMessage)
            .values(kind=kind, dedup_key=dedup_key, payload=with_trace_context(payload))
            .on_conflict_do_nothing(index_elements=["dedup_key"])
        )

    async def add_many(self, kind: str, intents: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Record many (dedup key, payload) intents of one kind in a few statements."""
        for start in range(0, len(intents), _INSERT_CHUNK):
            chunk = intents[start : start + _INSERT_CHUNK]
            await self._session.execute(
                insert(OutboxMessage)
                .values(
                    [
                        {"kind": kind, "dedup_key": key, "payload": with_trace_context(body)}
                        for key, body in chunk
                    ]
                )
                .on_conflict_do_nothing(index_elements=["dedup_key"])
            )

    async def claim_one(self, kinds: Collection[str] | None = None) -> OutboxMessage | None:
        """The open row (of ``kinds``, if given) due first, locked for this transaction;
        other relays skip it."""
        query = select(OutboxMessage).where(
            OutboxMessage.delivered_at.is_(None),
            OutboxMessage.dead_at.is_(None),
            OutboxMessage.available_at <= func.now(),
        )
        if kinds is not None:
            # A relay claims only what it can deliver, so it never holds another's rows.
            query = query.where(OutboxMessage.kind.in_(list(kinds)))
        result = await self._session.execute(
            query.order_by(OutboxMessage.available_at, OutboxMessage.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        return result.scalar_one_or_none()

    async def mark_delivered(self, message_ids: Sequence[int]) -> None:
        """Done: the relay will not look at these again."""
        if not message_ids:
            return
        await self._session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(message_ids))
            .values(delivered_at=func.now())
            # Not matched against the claimed objects in the session (that scan made a
            # pass of n rows cost n² in Python).
            .execution_options(synchronize_session=False)
        )

    async def mark_dead(self, message_id: int, error: str) -> None:
        """Given up: counted, with the last error; the relay will not try it again."""
        await self._session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(
                attempts=OutboxMessage.attempts + 1,
                last_error=error[:2000],
                dead_at=func.now(),
            )
            .execution_options(synchronize_session=False)
        )

    async def reschedule(self, message_id: int, error: str, delay: timedelta) -> None:
        """Failed this time: count the attempt and try again after ``delay``."""
        await self._session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(
                attempts=OutboxMessage.attempts + 1,
                last_error=error[:2000],
                available_at=func.now() + delay,
            )
            .execution_options(synchronize_session=False)
        )
