"""Messages to people that must follow a commit: a notice to one shopper, an alert to the
shop's admins. Written into the outbox in the caller's transaction, as a code and its
arguments (like import reasons), and rendered by the bot in the reader's language when
it sends them.
"""

from __future__ import annotations

from enum import StrEnum

from vitrina_common.repositories.outbox import OutboxRepository

NOTIFY_USER = "telegram.notify_user"
ALERT_ADMINS = "telegram.alert_admins"
# Kinds whose own failure is only logged: alerting about an alert that cannot be sent
# would loop.
MESSAGE_KINDS = frozenset({NOTIFY_USER, ALERT_ADMINS})

Argument = str | int | float
# A photo or document (kind, Telegram file_id) sent after the message's text.
Attachment = tuple[str, str]


def _payload(
    code: str, arguments: dict[str, Argument], attachment: Attachment | None
) -> dict[str, object]:
    payload: dict[str, object] = {"code": code, "arguments": arguments}
    if attachment is not None:
        payload["attachment"] = {"kind": attachment[0], "file_id": attachment[1]}
    return payload


class AdminAlert(StrEnum):
    """What the admins are told about; the bot's ``alerts.<code>`` texts."""

    # A money update failed every replay attempt.
    INBOX_DEAD = "inbox_dead"
    # An outbox row (a file to a buyer, a refund, a publish) failed every attempt.
    OUTBOX_DEAD = "outbox_dead"
    # A charge was refused and refunded automatically.
    CHARGE_REFUNDED = "charge_refunded"
    # Telegram reported a refund the bot did not make; the download was revoked.
    EXTERNAL_REFUND = "external_refund"
    # A shopper opened a ticket, wrote in one, or closed theirs.
    TICKET_OPENED = "ticket_opened"
    TICKET_REPLY = "ticket_reply"
    TICKET_CLOSED = "ticket_closed"
    # A ticket has waited for the shop's answer longer than the reminder period.
    TICKET_REMINDER = "ticket_reminder"


class UserNotice(StrEnum):
    """What a shopper is told after the fact; the bot's ``notices.<code>`` texts."""

    # Their charge was refunded; ``reason`` says why (a ``RefusalReason``).
    CHARGE_REFUNDED = "charge_refunded"
    # The shop answered their ticket, or closed it.
    TICKET_ANSWERED = "ticket_answered"
    TICKET_CLOSED = "ticket_closed"


async def enqueue_admin_alert(
    outbox: OutboxRepository,
    alert: AdminAlert,
    dedup_key: str,
    *,
    attachment: Attachment | None = None,
    **arguments: Argument,
) -> None:
    """Tell every admin about ``alert`` after the caller's commit (once per ``dedup_key``)."""
    await outbox.add(
        ALERT_ADMINS,
        dedup_key=f"alert:{dedup_key}",
        payload=_payload(alert.value, arguments, attachment),
    )


async def enqueue_user_notice(
    outbox: OutboxRepository,
    telegram_user_id: int,
    notice: UserNotice,
    dedup_key: str,
    *,
    attachment: Attachment | None = None,
    **arguments: Argument,
) -> None:
    """Tell one user about ``notice`` after the caller's commit (once per ``dedup_key``)."""
    payload = {"chat_id": telegram_user_id, **_payload(notice.value, arguments, attachment)}
    await outbox.add(NOTIFY_USER, dedup_key=f"notice:{dedup_key}", payload=payload)
