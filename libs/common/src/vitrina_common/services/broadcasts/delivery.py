"""Sending broadcasts: each recipient claimed, sent and recorded in one transaction.

A sender claims a pending recipient with ``FOR UPDATE SKIP LOCKED`` (other senders, in
this process or another replica, skip it), takes a slot of the global budget, sends, and
commits the outcome in that same transaction. A crash before the commit releases the lock
with the connection and leaves the recipient pending: it is sent again. So at most the
recipients in flight when a process dies are sent twice: ``APP_CONF__SENDING__CONCURRENCY``
per replica killed. A stop (SIGTERM) lets the sends in flight finish and commit.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.cancellation import finish_on_stop
from vitrina_common.config_sending import SendingSettings
from vitrina_common.db.models import RecipientState
from vitrina_common.logging import get_logger
from vitrina_common.repositories.broadcasts import BroadcastRepository, ClaimedRecipient
from vitrina_common.retry import RetryPolicy
from vitrina_common.sending import Outcome, OutcomeKind, OutgoingMessage, Sender, settle_outcome

log = get_logger(__name__)
SessionFactory = async_sessionmaker[AsyncSession]


@dataclass
class DeliveryStep:
    """What one step did: the broadcast it served, None when nothing was due."""

    broadcast_id: int | None
    outcome: Outcome | None = None


class BroadcastDelivery:
    """Delivers due recipients of every sending broadcast, one per ``step``."""

    def __init__(self, sessions: SessionFactory, sender: Sender, settings: SendingSettings) -> None:
        self._sessions = sessions
        self._sender = sender
        self._policy = RetryPolicy.from_settings(settings)

    async def step(self) -> DeliveryStep:
        """Claim, send and record one recipient; shielded, so a stop arriving mid-send
        waits for the record instead of rolling back a message Telegram accepted."""
        return await finish_on_stop(self._claim_send_record())

    async def _claim_send_record(self) -> DeliveryStep:
        async with self._sessions() as session, session.begin():
            broadcasts = BroadcastRepository(session)
            claimed = await broadcasts.claim_recipient()
            if claimed is None:
                return DeliveryStep(None)
            message = OutgoingMessage.model_validate(claimed.content)
            outcome = await self._sender.send(claimed.chat_id, message)
            await self._record(broadcasts, claimed, outcome)
        return DeliveryStep(claimed.broadcast_id, outcome)

    async def _record(
        self, broadcasts: BroadcastRepository, claimed: ClaimedRecipient, outcome: Outcome
    ) -> None:
        settled = settle_outcome(outcome, claimed.attempts, self._policy)
        state = RecipientState(settled.state)
        if outcome.kind is OutcomeKind.GONE:
            await broadcasts.flag_blocked(claimed.chat_id)
        if state is RecipientState.FAILED and outcome.kind is not OutcomeKind.FAILED:
            log.warning("broadcast recipient failed", chat=claimed.chat_id, error=outcome.reason)
        await broadcasts.settle(
            claimed.id,
            state,
            error=outcome.reason,
            attempts=settled.attempts,
            retry_in=settled.retry_in,
        )
