"""The tables, one module per domain; every model and enum importable from here.

Money is in Telegram Stars (whole numbers, currency ``XTR``). Image bytes never live in the
database: products point at objects in the NATS Object Store by key and sha256.
"""

from vitrina_common.db.models.access import ApiScope, ApiToken
from vitrina_common.db.models.broadcasts import (
    Broadcast,
    BroadcastRecipient,
    BroadcastStatus,
    RecipientState,
)
from vitrina_common.db.models.checkout import (
    Order,
    OrderStatus,
    Purchase,
    PurchaseStatus,
    RefusalReason,
    RefusedCharge,
)
from vitrina_common.db.models.delivery import OutboxMessage, TelegramUpdate, UpdateOutcome
from vitrina_common.db.models.imports import (
    ImportBatch,
    ImportBatchRow,
    ImportRowOutcome,
    ImportStatus,
)
from vitrina_common.db.models.notifications import (
    CategoryFollow,
    Notification,
    NotificationState,
)
from vitrina_common.db.models.scheduling import DueItemRow, ScheduledTask, SchedulerProbe
from vitrina_common.db.models.shop import Category, Language, Product, ProductStatus, User
from vitrina_common.db.models.tickets import (
    ActorKind,
    AttachmentKind,
    Ticket,
    TicketComment,
    TicketEvent,
    TicketStatus,
    TicketTransition,
)
from vitrina_common.db.models.waitlist import (
    EditionReservation,
    ReservationCause,
    ReservationState,
    WaitlistEntry,
    WishlistItem,
)

__all__ = [
    "ActorKind",
    "ApiScope",
    "ApiToken",
    "AttachmentKind",
    "Broadcast",
    "BroadcastRecipient",
    "BroadcastStatus",
    "Category",
    "CategoryFollow",
    "DueItemRow",
    "EditionReservation",
    "ImportBatch",
    "ImportBatchRow",
    "ImportRowOutcome",
    "ImportStatus",
    "Language",
    "Notification",
    "NotificationState",
    "Order",
    "OrderStatus",
    "OutboxMessage",
    "Product",
    "ProductStatus",
    "Purchase",
    "PurchaseStatus",
    "RecipientState",
    "RefusalReason",
    "RefusedCharge",
    "ReservationCause",
    "ReservationState",
    "ScheduledTask",
    "SchedulerProbe",
    "TelegramUpdate",
    "Ticket",
    "TicketComment",
    "TicketEvent",
    "TicketStatus",
    "TicketTransition",
    "UpdateOutcome",
    "User",
    "WaitlistEntry",
    "WishlistItem",
]
