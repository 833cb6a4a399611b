"""Broadcasts: compose (audience, schedule), deliver (one global budget for all replicas),
control (pause, resume, cancel) and report (live progress, failures CSV)."""

from vitrina_common.services.broadcasts.audience import Audience
from vitrina_common.services.broadcasts.compose import ComposeBroadcasts, start_due
from vitrina_common.services.broadcasts.control import ControlBroadcasts
from vitrina_common.services.broadcasts.delivery import BroadcastDelivery, DeliveryStep
from vitrina_common.services.broadcasts.progress import BroadcastProgress

__all__ = [
    "Audience",
    "BroadcastDelivery",
    "BroadcastProgress",
    "ComposeBroadcasts",
    "ControlBroadcasts",
    "DeliveryStep",
    "start_due",
]
