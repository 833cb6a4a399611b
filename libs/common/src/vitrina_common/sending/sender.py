"""The sender every non-interactive message goes through: one slot of the global budget per
send, and Telegram's answer turned into what to do with the recipient.

Usage (a broadcast, a waitlist notice, a digest)::

    sender = Sender(budget, transport)
    outcome = await sender.send(chat_id, OutgoingMessage(text="<b>New</b> in the shop"))
    match outcome.kind: ...   # SENT, GONE (flag the user), RETRY (later), FAILED (for good)

The caller records the outcome in the same transaction that holds its item (see
``services.broadcasts.delivery``), so an item is sent at most once more than recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from vitrina_common.logging import get_logger
from vitrina_common.observability import shop_metrics
from vitrina_common.sending.budget import GlobalBudget
from vitrina_common.sending.message import OutgoingMessage
from vitrina_common.sending.telegram import (
    BotApiTransport,
    FloodWaitError,
    RecipientGoneError,
    RefusedSendError,
    SendError,
)

log = get_logger(__name__)


class OutcomeKind(StrEnum):
    SENT = "sent"
    # Blocked the bot, deactivated: never again.
    GONE = "gone"
    # Worth another attempt (after ``retry_after_s`` at the least).
    RETRY = "retry"
    # Refused for good.
    FAILED = "failed"


@dataclass(frozen=True)
class Outcome:
    kind: OutcomeKind
    reason: str | None = None
    message_id: int | None = None
    retry_after_s: float = 0.0
    # Telegram's flood control answered: the attempt does not count against the recipient.
    flood: bool = False


@dataclass
class Sender:
    """Sends through the global budget; a 429 pauses every replica (``budget.pause``)."""

    budget: GlobalBudget
    transport: BotApiTransport
    # What sends (the ``kind`` label of vitrina_telegram_sends_total): broadcast, and the
    # notices that will send through here.
    kind: str = "broadcast"

    async def send(self, chat_id: int, message: OutgoingMessage) -> Outcome:
        """Send ``message`` to ``chat_id`` in the next budget slot; never raises a
        ``SendError``."""
        method, params = message.bot_api_call(chat_id)
        return await self.call(method, params)

    async def call(self, method: str, params: dict[str, Any]) -> Outcome:
        """Any Bot API send or edit, in the next budget slot; counted by its outcome."""
        outcome = await self._call(method, params)
        shop_metrics.sends.add(1, {"kind": self.kind, "outcome": _metric_outcome(outcome)})
        return outcome

    async def _call(self, method: str, params: dict[str, Any]) -> Outcome:
        await self.budget.take()
        try:
            result = await self.transport.call(method, params)
        except FloodWaitError as error:
            log.warning("telegram flood control: every sender pauses", seconds=error.retry_after)
            await self.budget.pause(error.retry_after)
            return Outcome(
                OutcomeKind.RETRY, error.reason, retry_after_s=error.retry_after, flood=True
            )
        except RecipientGoneError as error:
            return Outcome(OutcomeKind.GONE, error.reason)
        except RefusedSendError as error:
            return Outcome(OutcomeKind.FAILED, error.reason)
        except SendError as error:
            return Outcome(OutcomeKind.RETRY, error.reason)
        message_id = result.get("message_id")
        return Outcome(
            OutcomeKind.SENT, message_id=message_id if isinstance(message_id, int) else None
        )


def _metric_outcome(outcome: Outcome) -> str:
    """The ``outcome`` label: sent, flood_wait, blocked, retry or failed."""
    if outcome.flood:
        return "flood_wait"
    return {OutcomeKind.GONE: "blocked"}.get(outcome.kind, outcome.kind.value)
