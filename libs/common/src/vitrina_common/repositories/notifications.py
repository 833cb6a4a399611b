"""Notifications and their recipients: creating once per key, claiming, settling."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from vitrina_common.db.models import Language, Notification, NotificationState, User

_ERROR_CHARS = 500
# Eight parameters a notification: well under the 32 767 one statement may bind.
_ROWS_PER_INSERT = 1000


@dataclass(frozen=True)
class Recipient:
    """What deciding whether and when to notify a user needs to know about them."""

    id: int
    telegram_id: int
    language: Language
    is_banned: bool
    is_blocked: bool
    time_zone: str | None
    quiet_from_hour: int
    quiet_to_hour: int

    @property
    def reachable(self) -> bool:
        """Neither banned by the shop nor having blocked the bot."""
        return not (self.is_banned or self.is_blocked)


_RECIPIENT_COLUMNS = (
    User.id,
    User.telegram_id,
    User.language,
    User.is_banned,
    User.is_blocked,
    User.time_zone,
    User.quiet_from_hour,
    User.quiet_to_hour,
)


@dataclass(frozen=True)
class ClaimedNotification:
    """A pending notification locked by this transaction, with its recipient."""

    id: int
    template: str
    params: dict[str, Any]
    buttons: list[dict[str, Any]]
    urgent: bool
    attempts: int
    recipient: Recipient


class NotificationRepository:
    """Reads and writes ``notifications`` in the caller's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def recipient(self, user_id: int) -> Recipient | None:
        """The user ``user_id`` as a recipient, if they exist."""
        row = (
            await self._session.execute(select(*_RECIPIENT_COLUMNS).where(User.id == user_id))
        ).one_or_none()
        return None if row is None else Recipient(*row)

    async def recipients(self, user_ids: Collection[int]) -> list[Recipient]:
        """The users among ``user_ids`` that exist, as recipients: one query."""
        if not user_ids:
            return []
        rows = await self._session.execute(
            select(*_RECIPIENT_COLUMNS).where(User.id.in_(user_ids)).order_by(User.id)
        )
        return [Recipient(*row) for row in rows]

    async def add_each_once(self, rows: Sequence[dict[str, Any]]) -> int:
        """Insert each notification whose ``dedup_key`` does not exist yet: one statement
        per 1 000 rows; how many were inserted."""
        inserted = 0
        for start in range(0, len(rows), _ROWS_PER_INSERT):
            result = await self._session.execute(
                pg_insert(Notification)
                .values(list(rows[start : start + _ROWS_PER_INSERT]))
                .on_conflict_do_nothing(index_elements=[Notification.dedup_key])
                .returning(Notification.id)
            )
            inserted += len(result.all())
        return inserted

    async def add_once(self, values: dict[str, Any]) -> bool:
        """Insert a notification unless its ``dedup_key`` exists; whether it was inserted."""
        result = await self._session.execute(
            pg_insert(Notification)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[Notification.dedup_key])
            .returning(Notification.id)
        )
        return result.scalar_one_or_none() is not None

    async def claim_due(self, now: datetime) -> ClaimedNotification | None:
        """A pending notification due at ``now``, urgent ones first, locked for this
        transaction (other senders skip it); None when there is none free."""
        row = (
            await self._session.execute(
                select(
                    Notification.id,
                    Notification.template,
                    Notification.params,
                    Notification.buttons,
                    Notification.urgent,
                    Notification.attempts,
                    *_RECIPIENT_COLUMNS,
                )
                .join(User, User.id == Notification.user_id)
                .where(
                    Notification.state == NotificationState.PENDING,
                    Notification.send_after <= now,
                )
                .order_by(Notification.urgent.desc(), Notification.send_after, Notification.id)
                .limit(1)
                .with_for_update(of=Notification, skip_locked=True)
            )
        ).one_or_none()
        if row is None:
            return None
        notification_id, template, params, buttons, urgent, attempts = row[:6]
        return ClaimedNotification(
            notification_id, template, params, buttons, urgent, attempts, Recipient(*row[6:])
        )

    async def settle(
        self,
        notification_id: int,
        state: NotificationState,
        *,
        now: datetime,
        error: str | None = None,
        attempts: int | None = None,
        send_after: datetime | None = None,
    ) -> None:
        """Record an outcome: a final ``state``, or (pending) when to try again."""
        values: dict[str, Any] = {"state": state, "error": error[:_ERROR_CHARS] if error else None}
        if state == NotificationState.SENT:
            values["sent_at"] = now
        if attempts is not None:
            values["attempts"] = attempts
        if send_after is not None:
            values["send_after"] = send_after
        await self._session.execute(
            update(Notification)
            .where(Notification.id == notification_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
