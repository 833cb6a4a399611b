"""The shop's business and delivery metrics (OpenTelemetry instruments, exported at /metrics).

Labels stay bounded: update types, outcomes, outbox kinds and refund kinds are fixed sets;
no user, product or order id is ever a label. The Prometheus names follow from the
instrument names (dots become underscores, counters end in ``_total``, a unit ``s`` adds
``_seconds``); the README's metrics table lists them.
"""

from __future__ import annotations

from enum import StrEnum

from opentelemetry import metrics

_meter = metrics.get_meter("vitrina.shop")

# Buckets for things a person waits on: an answer, a document after paying.
_WAIT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900)


class RefundKind(StrEnum):
    """Who refunded: the shop by itself (a charge it could not deliver), an admin, or
    Telegram reporting a refund made elsewhere."""

    AUTOMATIC = "automatic"
    MANUAL = "manual"
    TELEGRAM = "telegram"


# type: message | callback_query | pre_checkout_query | …; outcome: handled | unhandled | error
updates = _meter.create_counter(
    "vitrina.updates", description="Telegram updates handled by the bot, by type and outcome"
)
update_duration = _meter.create_histogram(
    "vitrina.update.duration",
    unit="s",
    description="Time from an update entering the dispatcher to its handler returning",
    explicit_bucket_boundaries_advisory=_WAIT_BUCKETS,
)
orders = _meter.create_counter("vitrina.orders", description="Orders (invoices) created")
# outcome: purchase | refused
payments = _meter.create_counter(
    "vitrina.payments", description="Successful payments recorded, by what they became"
)
revenue_stars = _meter.create_counter(
    "vitrina.revenue.stars", description="Stars paid for purchases (refused charges excluded)"
)
# kind: automatic | manual | telegram
refunds = _meter.create_counter("vitrina.refunds", description="Refunds recorded, by kind")
# kind: the outbox kind (a fixed set); outcome: delivered | retried | dead
outbox_deliveries = _meter.create_counter(
    "vitrina.outbox.deliveries", description="Outbox rows attempted by a relay, by kind and outcome"
)
# kind: the due item's kind (a fixed set, one per handler); outcome: handled | failed |
# kept_aside (no handler for the kind in that worker)
due_items = _meter.create_counter(
    "vitrina.due_items", description="Due items claimed by the worker, by kind and outcome"
)
purchase_delivery = _meter.create_histogram(
    "vitrina.purchase.delivery.latency",
    unit="s",
    description="Time from a payment's commit to its original being sent",
    explicit_bucket_boundaries_advisory=_WAIT_BUCKETS,
)
# method: the Bot API method (a fixed set); outcome: ok | flood_wait | error
telegram_requests = _meter.create_counter(
    "vitrina.telegram.requests", description="Bot API requests made, by method and outcome"
)
# Hook for the broadcasts branch: its sender counts each message here, with
# kind=broadcast and outcome=sent | flood_wait | blocked | failed, so the dashboard's
# "Telegram limits" row and the TelegramFloodWaits alert cover broadcasts without changes.
sends = _meter.create_counter(
    "vitrina.telegram.sends", description="Messages sent outside replies, by kind and outcome"
)
