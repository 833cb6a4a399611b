"""Broadcasts and their recipients: materialising, claiming, settling, counting."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, insert, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from vitrina_common.db.models import (
    Broadcast,
    BroadcastRecipient,
    BroadcastStatus,
    RecipientState,
    User,
)

_ERROR_CHARS = 500


@dataclass(frozen=True)
class ClaimedRecipient:
    """A recipient locked by this transaction, with what to send it."""

    id: int
    broadcast_id: int
    chat_id: int
    attempts: int
    content: dict[str, Any]


class BroadcastRepository:
    """Reads and writes ``broadcasts`` and ``broadcast_recipients`` in the caller's
    transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(
        self,
        *,
        content: dict[str, Any],
        audience: dict[str, Any],
        admin_chat_id: int,
        status: BroadcastStatus,
        send_at: datetime | None,
    ) -> int:
        """A new broadcast; its id."""
        result = await self._session.execute(
            insert(Broadcast)
            .values(
                content=content,
                audience=audience,
                admin_chat_id=admin_chat_id,
                status=status,
                send_at=send_at,
            )
            .returning(Broadcast.id)
        )
        return int(result.scalar_one())

    async def get(self, broadcast_id: int) -> Broadcast | None:
        """The broadcast, if it exists."""
        return await self._session.get(Broadcast, broadcast_id)

    async def count_users(self, condition: ColumnElement[bool]) -> int:
        """How many users ``condition`` selects."""
        total = await self._session.scalar(select(func.count()).select_from(User).where(condition))
        return int(total or 0)

    async def materialise(self, broadcast_id: int, condition: ColumnElement[bool]) -> int:
        """One pending recipient per user ``condition`` selects (once: a repeat adds none),
        the broadcast started; how many recipients it has."""
        await self._session.execute(
            pg_insert(BroadcastRecipient)
            .from_select(
                ["broadcast_id", "chat_id"],
                select(literal(broadcast_id), User.telegram_id).where(condition),
            )
            .on_conflict_do_nothing()
            .execution_options(synchronize_session=False)
        )
        total = await self._session.scalar(
            select(func.count()).where(BroadcastRecipient.broadcast_id == broadcast_id)
        )
        await self._session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id)
            .values(
                recipients_total=int(total or 0),
                status=BroadcastStatus.SENDING,
                started_at=func.now(),
            )
            .execution_options(synchronize_session=False)
        )
        return int(total or 0)

    async def sending_ids(self) -> list[int]:
        """Broadcasts now sending."""
        result = await self._session.execute(
            select(Broadcast.id).where(Broadcast.status == BroadcastStatus.SENDING)
        )
        return [int(found) for found in result.scalars()]

    async def lock_due_scheduled(self) -> int | None:
        """A scheduled broadcast whose time has come, locked for this transaction."""
        result = await self._session.execute(
            select(Broadcast.id)
            .where(Broadcast.status == BroadcastStatus.SCHEDULED, Broadcast.send_at <= func.now())
            .order_by(Broadcast.send_at)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        return result.scalar_one_or_none()

    async def claim_recipient(self) -> ClaimedRecipient | None:
        """A due pending recipient of a sending broadcast, locked for this transaction
        (other senders skip it); None when there is none free."""
        row = (
            await self._session.execute(
                select(
                    BroadcastRecipient.id,
                    BroadcastRecipient.broadcast_id,
                    BroadcastRecipient.chat_id,
                    BroadcastRecipient.attempts,
                    Broadcast.content,
                )
                .join(Broadcast, Broadcast.id == BroadcastRecipient.broadcast_id)
                .where(
                    BroadcastRecipient.state == RecipientState.PENDING,
                    BroadcastRecipient.next_attempt_at <= func.now(),
                    Broadcast.status == BroadcastStatus.SENDING,
                )
                .order_by(BroadcastRecipient.broadcast_id, BroadcastRecipient.id)
                .limit(1)
                .with_for_update(of=BroadcastRecipient, skip_locked=True)
            )
        ).one_or_none()
        return None if row is None else ClaimedRecipient(*row)

    async def settle(
        self,
        recipient_id: int,
        state: RecipientState,
        *,
        error: str | None = None,
        attempts: int | None = None,
        retry_in: timedelta | None = None,
    ) -> None:
        """Record a recipient's outcome: a final ``state``, or (pending) its next attempt."""
        values: dict[str, Any] = {"state": state, "error": error[:_ERROR_CHARS] if error else None}
        if state == RecipientState.SENT:
            values["sent_at"] = func.now()
        if attempts is not None:
            values["attempts"] = attempts
        if retry_in is not None:
            values["next_attempt_at"] = func.now() + retry_in
        await self._session.execute(
            update(BroadcastRecipient)
            .where(BroadcastRecipient.id == recipient_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )

    async def flag_blocked(self, chat_id: int) -> None:
        """The user behind ``chat_id`` blocked the bot or is gone: later sends skip them."""
        await self._session.execute(
            update(User)
            .where(User.telegram_id == chat_id)
            .values(is_blocked=True)
            .execution_options(synchronize_session=False)
        )

    async def counts(self, broadcast_id: int) -> dict[RecipientState, int]:
        """Recipients by state."""
        rows = await self._session.execute(
            select(BroadcastRecipient.state, func.count())
            .where(BroadcastRecipient.broadcast_id == broadcast_id)
            .group_by(BroadcastRecipient.state)
        )
        found = {RecipientState(state): int(count) for state, count in rows.all()}
        return {state: found.get(state, 0) for state in RecipientState}

    async def set_status(
        self, broadcast_id: int, allowed_from: Collection[BroadcastStatus], to: BroadcastStatus
    ) -> bool:
        """Move the broadcast to ``to`` if it is in one of ``allowed_from``."""
        values: dict[str, Any] = {"status": to}
        if to in (BroadcastStatus.DONE, BroadcastStatus.CANCELLED):
            values["finished_at"] = func.now()
        result = await self._session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id, Broadcast.status.in_(list(allowed_from)))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def finish_if_drained(self, broadcast_id: int) -> bool:
        """Mark a sending broadcast done once no recipient is pending (in-flight ones still
        are); True for the one caller that did it."""
        pending = exists().where(
            BroadcastRecipient.broadcast_id == broadcast_id,
            BroadcastRecipient.state == RecipientState.PENDING,
        )
        result = await self._session.execute(
            update(Broadcast)
            .where(
                and_(Broadcast.id == broadcast_id, Broadcast.status == BroadcastStatus.SENDING),
                ~pending,
            )
            .values(status=BroadcastStatus.DONE, finished_at=func.now())
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def claim_final_report(self, settle_for: timedelta) -> int | None:
        """A finished broadcast whose final report nobody has sent, claimed for the caller
        (one replica reports each). A cancelled one waits ``settle_for`` after the cancel,
        for the sends still in flight then to be recorded."""
        due = (
            select(Broadcast.id)
            .where(
                Broadcast.reported_at.is_(None),
                (Broadcast.status == BroadcastStatus.DONE)
                | (
                    (Broadcast.status == BroadcastStatus.CANCELLED)
                    & (Broadcast.finished_at <= func.now() - settle_for)
                ),
            )
            .order_by(Broadcast.id)
            .limit(1)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        result = await self._session.execute(
            update(Broadcast)
            .where(Broadcast.id == due)
            .values(reported_at=func.now())
            .returning(Broadcast.id)
            .execution_options(synchronize_session=False)
        )
        return result.scalar_one_or_none()

    async def take_progress_turn(self, broadcast_id: int, interval: timedelta) -> bool:
        """True for one caller per ``interval``: the one that edits the progress message."""
        result = await self._session.execute(
            update(Broadcast)
            .where(
                Broadcast.id == broadcast_id,
                (Broadcast.progress_at.is_(None))
                | (Broadcast.progress_at <= func.now() - interval),
            )
            .values(progress_at=func.now())
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def set_progress_message(self, broadcast_id: int, message_id: int) -> None:
        """Remember the admin's progress message, to edit it from now on."""
        await self._session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id)
            .values(progress_message_id=message_id)
            .execution_options(synchronize_session=False)
        )

    async def unsuccessful(self, broadcast_id: int) -> list[tuple[int, RecipientState, str | None]]:
        """(chat, state, reason) of every recipient not reached (failed, blocked, or still
        pending: a cancelled broadcast's rest), in id order."""
        rows = await self._session.execute(
            select(BroadcastRecipient.chat_id, BroadcastRecipient.state, BroadcastRecipient.error)
            .where(
                BroadcastRecipient.broadcast_id == broadcast_id,
                BroadcastRecipient.state != RecipientState.SENT,
            )
            .order_by(BroadcastRecipient.id)
        )
        return [(int(chat), RecipientState(state), error) for chat, state, error in rows.all()]
