"""Sending notifications: each one claimed, sent and recorded in one transaction, through
the global budget the broadcasts draw from.

As with broadcasts (see ``services.broadcasts.delivery``), a sender claims a due row with
``FOR UPDATE SKIP LOCKED``, sends, and commits the outcome in that transaction: a crash
before the commit leaves the row pending and it is sent again (at most the sends in flight
of a killed process go twice). What is checked at send time, not only when the notice was
created: the recipient may have been banned or blocked the bot meanwhile (the notice is
skipped), and a non-urgent notice that came due inside the recipient's quiet hours (their
hours or zone changed, or a retry pushed it there) waits for their end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.cancellation import finish_on_stop
from vitrina_common.clock import Clock
from vitrina_common.config_sending import SendingSettings
from vitrina_common.db.models import NotificationState
from vitrina_common.logging import get_logger
from vitrina_common.repositories.notifications import ClaimedNotification, NotificationRepository
from vitrina_common.repositories.users import UserRepository
from vitrina_common.retry import RetryPolicy
from vitrina_common.sending import (
    Button,
    Outcome,
    OutcomeKind,
    OutgoingMessage,
    Sender,
    settle_outcome,
)
from vitrina_common.services.notifications.notify import release_at
from vitrina_common.services.notifications.texts import TemplateError, render

log = get_logger(__name__)
SessionFactory = async_sessionmaker[AsyncSession]


@dataclass(frozen=True)
class NotificationStep:
    """What one step did: the notification it handled (None: nothing was due) and, if it
    was sent, Telegram's answer."""

    notification_id: int | None
    state: NotificationState | None = None
    outcome: Outcome | None = None


def outgoing_message(claimed: ClaimedNotification) -> OutgoingMessage:
    """The notification in its recipient's language, with its buttons one a row."""
    language = claimed.recipient.language
    return OutgoingMessage(
        text=render(claimed.template, language, claimed.params),
        buttons=[
            [
                Button(
                    text=render(button["text"], language, claimed.params),
                    callback_data=button.get("callback_data"),
                    url=button.get("url"),
                )
            ]
            for button in claimed.buttons
        ],
    )


class NotificationDelivery:
    """Delivers due notifications, one per ``step``; ``clock`` decides what is due."""

    def __init__(
        self, sessions: SessionFactory, sender: Sender, settings: SendingSettings, clock: Clock
    ) -> None:
        self._sessions = sessions
        self._sender = sender
        self._policy = RetryPolicy.from_settings(settings)
        self._clock = clock

    async def step(self) -> NotificationStep:
        """Claim, send and record one notification; shielded, so a stop arriving mid-send
        waits for the record instead of rolling back a message Telegram accepted."""
        return await finish_on_stop(self._claim_send_record())

    async def _claim_send_record(self) -> NotificationStep:
        now = self._clock.now()
        async with self._sessions() as session, session.begin():
            notifications = NotificationRepository(session)
            claimed = await notifications.claim_due(now)
            if claimed is None:
                return NotificationStep(None)
            if not claimed.recipient.reachable:
                await notifications.settle(claimed.id, NotificationState.SKIPPED, now=now)
                return NotificationStep(claimed.id, NotificationState.SKIPPED)
            if not claimed.urgent and (held := release_at(claimed.recipient, now)) > now:
                await notifications.settle(
                    claimed.id, NotificationState.PENDING, now=now, send_after=held
                )
                return NotificationStep(claimed.id, NotificationState.PENDING)
            try:
                message = outgoing_message(claimed)
            except (TemplateError, ValidationError) as error:
                # A text removed or changed by a later release: it will not render again.
                outcome = Outcome(OutcomeKind.FAILED, f"does not render: {error}")
            else:
                outcome = await self._sender.send(claimed.recipient.telegram_id, message)
            state = await self._record(session, claimed, outcome, now)
        return NotificationStep(claimed.id, state, outcome)

    async def _record(
        self, session: AsyncSession, claimed: ClaimedNotification, outcome: Outcome, now: datetime
    ) -> NotificationState:
        settled = settle_outcome(outcome, claimed.attempts, self._policy)
        state = NotificationState(settled.state)
        if outcome.kind is OutcomeKind.GONE:
            await UserRepository(session).set_fields(claimed.recipient.telegram_id, is_blocked=True)
        if state is NotificationState.FAILED and outcome.kind is not OutcomeKind.FAILED:
            log.warning("notification failed", id=claimed.id, error=outcome.reason)
        await NotificationRepository(session).settle(
            claimed.id,
            state,
            now=now,
            error=outcome.reason,
            attempts=settled.attempts,
            send_after=None if settled.retry_in is None else now + settled.retry_in,
        )
        return state
