"""Checkout with Telegram Stars: the public face of the checkout modules.

The flow, and the use case for each step:

1. "Buy": ``StartCheckout`` creates a pending order and returns the ``Invoice`` to send.
2. pre_checkout_query: ``CheckPreCheckout`` says whether Telegram may take the money.
3. successful_payment: ``RecordSuccessfulPayment`` records the purchase once per charge and
   queues the original's delivery (outbox kind ``telegram.send_original``), which the relay
   sends using ``DeliveryQueries``.
4. Afterwards: ``PurchaseQueries`` (my purchases, downloads, ownership) and
   ``RefundPurchase`` (prepare → refundStarPayment → confirm).
"""

from vitrina_common.services.checkout.invoice import (
    DEFAULT_ORDER_TTL,
    STARS_CURRENCY,
    CheckoutRefusal,
    CheckPreCheckout,
    Invoice,
    PreCheckoutRefusal,
    PreCheckoutVerdict,
    StartCheckout,
)
from vitrina_common.services.checkout.payments import (
    SEND_ORIGINAL,
    PaymentAnomaly,
    PaymentRecord,
    RecordSuccessfulPayment,
    RefundConfirmation,
    RefundPurchase,
    RefundRefusal,
    RefundTarget,
    UnknownOrderPaymentError,
)
from vitrina_common.services.checkout.queries import (
    DeliveryQueries,
    DeliveryTarget,
    Download,
    PurchaseItem,
    PurchaseQueries,
)

__all__ = [
    "DEFAULT_ORDER_TTL",
    "SEND_ORIGINAL",
    "STARS_CURRENCY",
    "CheckPreCheckout",
    "CheckoutRefusal",
    "DeliveryQueries",
    "DeliveryTarget",
    "Download",
    "Invoice",
    "PaymentAnomaly",
    "PaymentRecord",
    "PreCheckoutRefusal",
    "PreCheckoutVerdict",
    "PurchaseItem",
    "PurchaseQueries",
    "RecordSuccessfulPayment",
    "RefundConfirmation",
    "RefundPurchase",
    "RefundRefusal",
    "RefundTarget",
    "StartCheckout",
    "UnknownOrderPaymentError",
]
