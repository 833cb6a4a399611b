"""Telegram Stars: pre-checkout answers, successful payments, refunds Telegram reports.

All three are "money-carrying" updates: the update intake records them in the inbox before
Telegram is told they arrived and runs them through it, so a crash here means they are
handled again, and the use cases make a repeat change nothing (unique charge ids).
"""

from __future__ import annotations

import asyncio
import html

from aiogram import F, Router
from aiogram.types import Message, PreCheckoutQuery

from vitrina_bot.i18n import Translator
from vitrina_bot.retries import calls_due_by
from vitrina_bot.updates.intake import PRE_CHECKOUT_VERDICT_S
from vitrina_common.logging import get_logger
from vitrina_common.outbox import OutboxRelay
from vitrina_common.services.checkout import (
    CheckPreCheckout,
    Payment,
    PreCheckoutVerdict,
    RecordRefundedPayment,
    RecordSuccessfulPayment,
    ReleaseReservation,
)

router = Router(name="payments")
log = get_logger(__name__)

# After the verdict's deadline, the answer itself may take this long (Telegram's 10 s).
ANSWER_SLACK_S = 1.5


@router.pre_checkout_query()
async def on_pre_checkout(
    query: PreCheckoutQuery,
    check_pre_checkout: CheckPreCheckout,
    release_reservation: ReleaseReservation,
    t: Translator,
    money_deadline: float | None = None,
) -> None:
    """OK only for an open, unexpired order of this user at the current price, with a copy
    for it; a verdict not reached in time is a "please try again"."""
    loop = asyncio.get_running_loop()
    deadline = (
        money_deadline if money_deadline is not None else loop.time() + PRE_CHECKOUT_VERDICT_S
    )
    try:
        async with asyncio.timeout_at(deadline):
            verdict = await check_pre_checkout(
                query.invoice_payload, query.from_user.id, query.currency, query.total_amount
            )
    except TimeoutError:
        log.warning("pre-checkout verdict too slow", user=query.from_user.id)
        verdict = None
    try:
        async with asyncio.timeout_at(deadline + ANSWER_SLACK_S):
            with calls_due_by(deadline + ANSWER_SLACK_S):
                await _answer(query, verdict, t)
    except BaseException:
        if verdict is not None and verdict.ok:
            # Telegram will not charge without our yes: the copy is free again.
            await release_reservation(query.invoice_payload)
        raise


async def _answer(
    query: PreCheckoutQuery, verdict: PreCheckoutVerdict | None, t: Translator
) -> None:
    if verdict is None:
        await query.answer(ok=False, error_message=t("precheckout.try_again"))
    elif verdict.ok:
        await query.answer(ok=True)
    else:
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
    """Record the purchase (once) and let the relay deliver the original; or record the
    refusal, say why, and let the relay refund it."""
    payment = message.successful_payment
    if payment is None or message.from_user is None:
        return
    record = await record_payment(
        Payment(
            payload=payment.invoice_payload,
            telegram_user_id=message.from_user.id,
            telegram_payment_charge_id=payment.telegram_payment_charge_id,
            total_amount=payment.total_amount,
            currency=payment.currency,
        )
    )
    outbox_relay.wake()
    if not record.is_new:
        return
    title = html.escape(record.product_title or "")
    if record.refusal is None:
        await message.answer(t("payment.received", title=title))
    else:
        await message.answer(t(f"payment.refused.{record.refusal.value}", title=title))


@router.message(F.refunded_payment)
async def on_refunded_payment(
    message: Message, record_refunded_payment: RecordRefundedPayment, outbox_relay: OutboxRelay
) -> None:
    """Telegram refunded a charge: revoke what it paid for (the admins are told)."""
    refund = message.refunded_payment
    if refund is None or message.from_user is None:
        return
    if await record_refunded_payment(refund.telegram_payment_charge_id, message.from_user.id):
        outbox_relay.wake()
