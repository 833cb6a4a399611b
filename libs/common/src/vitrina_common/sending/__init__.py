"""Non-interactive Telegram sends (broadcasts; notifications and digests to come): one
global budget shared by every worker replica, and a sender that turns Telegram's answers
into what to do with a recipient."""

from vitrina_common.sending.budget import GlobalBudget
from vitrina_common.sending.message import Button, OutgoingMessage, product_button
from vitrina_common.sending.sender import Outcome, OutcomeKind, Sender
from vitrina_common.sending.telegram import BotApiTransport

__all__ = [
    "BotApiTransport",
    "Button",
    "GlobalBudget",
    "Outcome",
    "OutcomeKind",
    "OutgoingMessage",
    "Sender",
    "product_button",
]
