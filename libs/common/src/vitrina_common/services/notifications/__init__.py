"""Notifications to one shopper: ``notify()`` queues one in the caller's transaction, the
worker sends it through the global send budget (``delivery``), in the recipient's language
and outside their quiet hours unless it is urgent (``local_time``)."""

from vitrina_common.services.notifications.delivery import NotificationDelivery, NotificationStep
from vitrina_common.services.notifications.notify import (
    NotificationButton,
    notify,
    notify_each,
)
from vitrina_common.services.notifications.texts import TemplateError

__all__ = [
    "NotificationButton",
    "NotificationDelivery",
    "NotificationStep",
    "TemplateError",
    "notify",
    "notify_each",
]
