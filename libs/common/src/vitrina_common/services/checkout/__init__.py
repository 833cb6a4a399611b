"""Checkout with Telegram Stars: the public face of the checkout modules.

The flow, and the use case for each step:

1. "Buy": ``StartCheckout`` creates a pending order and returns the ``Invoice`` to send.
2. pre_checkout_query: ``CheckPreCheckout`` says whether Telegram may take the money, and
   a yes reserves the copy (``ReleaseReservation`` gives it back if the yes never left).
3. successful_payment: ``RecordSuccessfulPayment`` records the purchase once per charge and
   queues the original's delivery (outbox kind ``telegram.send_original``), which the relay
   sends using ``DeliveryQueries``; or it refuses the charge and queues its refund (outbox
   kind ``telegram.refund_charge``, made with ``RefundRefusedCharge``).
4. Afterwards: ``PurchaseQueries`` (my purchases, downloads, ownership),
   ``RefundPurchase`` (an admin's refund: prepare → refundStarPayment → confirm) and
   ``RecordRefundedPayment`` (a refund Telegram reports).
"""

from vitrina_common.services.checkout.invoice import (
    DEFAULT_ORDER_TTL,
    STARS_CURRENCY,
    Invoice,
    StartCheckout,
)
from vitrina_common.services.checkout.payments import (
    REFUND_CHARGE,
    SEND_ORIGINAL,
    Payment,
    PaymentAnomaly,
    PaymentRecord,
    RecordSuccessfulPayment,
)
from vitrina_common.services.checkout.pre_checkout import (
    CheckPreCheckout,
    PreCheckoutRefusal,
    PreCheckoutVerdict,
    ReleaseReservation,
)
from vitrina_common.services.checkout.queries import (
    DeliveryQueries,
    DeliveryTarget,
    Download,
    PurchaseItem,
    PurchaseQueries,
)
from vitrina_common.services.checkout.refunds import (
    ChargeRefund,
    RecordRefundedPayment,
    RefundConfirmation,
    RefundPurchase,
    RefundRefusal,
    RefundRefusedCharge,
    RefundTarget,
)
from vitrina_common.services.editions import CheckoutRefusal

__all__ = [
    "DEFAULT_ORDER_TTL",
    "REFUND_CHARGE",
    "SEND_ORIGINAL",
    "STARS_CURRENCY",
    "ChargeRefund",
    "CheckPreCheckout",
    "CheckoutRefusal",
    "DeliveryQueries",
    "DeliveryTarget",
    "Download",
    "Invoice",
    "Payment",
    "PaymentAnomaly",
    "PaymentRecord",
    "PreCheckoutRefusal",
    "PreCheckoutVerdict",
    "PurchaseItem",
    "PurchaseQueries",
    "RecordRefundedPayment",
    "RecordSuccessfulPayment",
    "RefundConfirmation",
    "RefundPurchase",
    "RefundRefusal",
    "RefundRefusedCharge",
    "RefundTarget",
    "ReleaseReservation",
    "StartCheckout",
]
