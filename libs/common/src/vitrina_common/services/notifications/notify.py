"""``notify()``: what every feature calls to tell one shopper something (``notify_each``:
the same notice to many, in two statements however many they are).

It only writes a row in the caller's transaction; the worker's notification senders send it
later through the global budget (see ``delivery``). So a notice exists exactly when the
caller's use case commits, and a rolled-back use case notifies nobody.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from vitrina_common.logging import get_logger
from vitrina_common.repositories.notifications import NotificationRepository, Recipient
from vitrina_common.services.notifications.local_time import QuietHours, zone_named
from vitrina_common.services.notifications.texts import check_template

log = get_logger(__name__)


@dataclass(frozen=True)
class NotificationButton:
    """An inline button under a notification: ``text`` is a template key (rendered with the
    notification's parameters), and either ``callback_data`` or ``url``."""

    text: str
    callback_data: str | None = None
    url: str | None = None


def release_at(recipient: Recipient, now: datetime) -> datetime:
    """When a non-urgent notice to ``recipient`` may go: ``now``, or the end of their quiet
    hours on their local clock."""
    quiet = QuietHours(recipient.quiet_from_hour, recipient.quiet_to_hour)
    return quiet.release_at(now, zone_named(recipient.time_zone, recipient.language))


async def notify(
    session: AsyncSession,
    *,
    user_id: int,
    template: str,
    params: Mapping[str, str | int],
    dedup_key: str,
    urgent: bool,
    now: datetime,
    buttons: Sequence[NotificationButton] = (),
) -> bool:
    """Queue ``template`` for the user ``users.id == user_id``; never commits.

    False, and nothing queued, when ``dedup_key`` was used before (so a retried use case
    notifies once) or the user is banned or has blocked the bot. Urgent notices are due at
    ``now``; the others at the end of the recipient's quiet hours if ``now`` is inside them.
    Raises ``TemplateError`` for a template or button key that does not render with
    ``params``, and ``LookupError`` for a user that does not exist.
    """
    for key in (template, *(button.text for button in buttons)):
        check_template(key, params)
    notifications = NotificationRepository(session)
    recipient = await notifications.recipient(user_id)
    if recipient is None:
        raise LookupError(f"no user with id {user_id}")
    if not recipient.reachable:
        log.info("notification not queued: user unreachable", user=user_id, template=template)
        return False
    return await notifications.add_once(
        _row(recipient, template, params, dedup_key, urgent, now, buttons)
    )


async def notify_each(
    session: AsyncSession,
    *,
    user_ids: Collection[int],
    template: str,
    params: Mapping[str, str | int],
    dedup_key: Callable[[int], str],
    urgent: bool,
    now: datetime,
) -> int:
    """``notify`` each of ``user_ids`` (``dedup_key(user_id)`` its key); how many were
    queued. Users that are unreachable or gone are skipped. Never commits."""
    check_template(template, params)
    notifications = NotificationRepository(session)
    recipients = [
        recipient for recipient in await notifications.recipients(user_ids) if recipient.reachable
    ]
    return await notifications.add_each_once(
        [
            _row(recipient, template, params, dedup_key(recipient.id), urgent, now)
            for recipient in recipients
        ]
    )


def _row(
    recipient: Recipient,
    template: str,
    params: Mapping[str, str | int],
    dedup_key: str,
    urgent: bool,
    now: datetime,
    buttons: Sequence[NotificationButton] = (),
) -> dict[str, object]:
    """The ``notifications`` row of one notice to ``recipient``: due ``now`` if urgent, else
    at the end of their quiet hours."""
    return {
        "user_id": recipient.id,
        "template": template,
        "params": dict(params),
        "buttons": [asdict(button) for button in buttons],
        "dedup_key": dedup_key,
        "urgent": urgent,
        "send_after": now if urgent else release_at(recipient, now),
    }
