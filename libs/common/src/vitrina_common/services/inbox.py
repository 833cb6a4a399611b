"""The update inbox: money-carrying updates are made durable before Telegram forgets them.

aiogram's polling confirms an update to Telegram (the next getUpdates offset) while its
handler may still be running, and a webhook answer is all Telegram waits for; a crash then
loses the update. ``pre_checkout_query`` and ``successful_payment`` are stored here first
and marked processed after their handler committed, so a restart (or another replica's
sweep) replays exactly the ones whose processing did not finish. Every update id is
recorded, so a repeated delivery of the same update is recognised and ignored.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.repositories.updates import UpdateRepository


@dataclass(frozen=True)
class IncomingUpdate:
    """An update as the inbox sees it: its id, its kind, and its JSON if it carries money."""

    update_id: int
    kind: str
    money_payload: dict[str, Any] | None


class UpdateInbox:
    """Records updates and replays unfinished money updates."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory

    async def admit(self, updates: list[IncomingUpdate]) -> set[int]:
        """Record ``updates`` in one transaction; returns the ids seen for the first time."""
        rows = [
            {"update_id": u.update_id, "kind": u.kind, "payload": u.money_payload} for u in updates
        ]
        async with self._session_factory() as session, session.begin():
            return await UpdateRepository(session).insert_new(rows)

    async def mark_processed(self, update_id: int) -> None:
        """The update's handler finished (and committed whatever it had to)."""
        async with self._session_factory() as session, session.begin():
            await UpdateRepository(session).mark_processed(update_id)

    async def replay(
        self,
        process: Callable[[dict[str, Any]], Awaitable[None]],
        older_than: timedelta = timedelta(0),
        limit: int = 100,
    ) -> int:
        """Process unfinished money updates (each locked while it runs); how many finished."""
        finished = 0
        async with self._session_factory() as session, session.begin():
            repository = UpdateRepository(session)
            for row in await repository.claim_unprocessed(older_than, limit):
                if row.payload is None:
                    continue
                await process(row.payload)
                await repository.mark_processed(row.update_id)
                finished += 1
        return finished
