"""Telegram Stars: pre-checkout answers and successful payments.

Both are "money-carrying" updates: the update intake records them in the inbox before
Telegram is told they arrived, so a crash here means they are handled again after a restart,
and the use cases make a repeat change nothing (unique telegram_payment_charge_id).
"""

from __future__ import annotations

import html

from aiogram import F, Router
from aiogram.types import Message, PreCheckoutQuery

from vitrina_bot.i18n import Translator
from vitrina_common.logging import get_logger
from vitrina_common.outbox import OutboxRelay
from vitrina_common.services.checkout import CheckPreCheckout, RecordSuccessfulPayment

router = Router(name="payments")
log = get_logger(__name__)


@router.pre_checkout_query()
async def on_pre_checkout(
    query: PreCheckoutQuery, check_pre_checkout: CheckPreCheckout, t: Translator
) -> None:
    """OK only for a pending, unexpired order of this user at the current price."""
    verdict = await check_pre_checkout(
        query.invoice_payload, query.from_user.id, query.currency, query.total_amount
    )
    if verdict.ok:
        await query.answer(ok=True)
        return
    reason = verdict.reason.value if verdict.reason is not None else "unknown_order"
    log.info("pre-checkout refused", reason=reason, user=query.from_user.id)
    await query.answer(ok=False, error_message=t(f"precheckout.{reason}"))


@router.message(F.successful_payment)
async def on_successful_payment(
    message: Message,
    record_payment: RecordSuccessfulPayment,
    outbox_relay: OutboxRelay,
    t: Translator,
) -> None:
    """Record the purchase (once), then let the outbox relay deliver the original."""
    payment = message.successful_payment
    if payment is None or message.from_user is None:
        return
    record = await record_payment(
        payment.invoice_payload,
        message.from_user.id,
        payment.telegram_payment_charge_id,
        payment.total_amount,
        payment.currency,
    )
    outbox_relay.wake()
    if record.is_new:
        await message.answer(t("payment.received", title=html.escape(record.product_title)))
