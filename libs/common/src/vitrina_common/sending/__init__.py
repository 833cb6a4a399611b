"""Non-interactive Telegram sends (broadcasts, notifications, digests): one global budget
shared by every worker replica, a sender that turns Telegram's answers into outcomes, and
what an outcome makes of the queued message (``settle_outcome``)."""

from vitrina_common.sending.budget import GlobalBudget
from vitrina_common.sending.message import Button, OutgoingMessage, product_button
from vitrina_common.sending.sender import Outcome, OutcomeKind, Sender
from vitrina_common.sending.settling import Settled, SettledState, settle_outcome
from vitrina_common.sending.telegram import BotApiTransport

__all__ = [
    "BotApiTransport",
    "Button",
    "GlobalBudget",
    "Outcome",
    "OutcomeKind",
    "OutgoingMessage",
    "Sender",
    "Settled",
    "SettledState",
    "product_button",
    "settle_outcome",
]
