"""Refunding through Telegram: a purchase (the one way /refund and the admin's purchase
card both use), and a refused charge (the outbox handler of ``telegram.refund_charge``).

Telegram first (refundStarPayment), then the record (``RefundPurchase``), then the buyer
is told in their language. A refund Telegram refuses is not recorded.

Twice is harmless at every step: a purchase already refunded is refused before Telegram
is asked; one already being refunded in this process is refused too (a double tap, or
/refund and the button at once); and when another replica got there first Telegram
answers CHARGE_ALREADY_REFUNDED, ``confirm_once`` reports the purchase was marked
already, and only the replica that marked it tells the buyer.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError

from vitrina_bot.i18n import Translator, translator_for
from vitrina_common.ids import MAX_ID
from vitrina_common.logging import get_logger
from vitrina_common.outbox import OutboxHandler
from vitrina_common.services.checkout import (
    RefundPurchase,
    RefundRefusal,
    RefundRefusedCharge,
    RefundTarget,
)
from vitrina_common.services.profile import Profiles

log = get_logger(__name__)

# Telegram's answer when the charge was refunded before: by us, before a crash or on
# another replica, so the purchase only needs recording.
ALREADY_REFUNDED_ERROR = "CHARGE_ALREADY_REFUNDED"


class RefundOutcome(StrEnum):
    REFUNDED = "refunded"
    NOT_FOUND = "not_found"
    ALREADY_REFUNDED = "already_refunded"
    IN_PROGRESS = "in_progress"
    # Telegram refused (e.g. the charge is unknown to it); nothing was recorded.
    FAILED = "failed"


@dataclass(frozen=True)
class RefundResult:
    """How a refund went; ``error`` is Telegram's words when it refused."""

    outcome: RefundOutcome
    purchase_id: int
    price_stars: int = 0
    error: str = ""


class StarRefunds:
    """Refunds purchases through Telegram and records them; one per purchase at a time."""

    def __init__(self, bot: Bot, refund_purchase: RefundPurchase, profiles: Profiles) -> None:
        self._bot = bot
        self._refund_purchase = refund_purchase
        self._profiles = profiles
        self._in_flight: set[int] = set()

    async def refund(self, purchase_id: int) -> RefundResult:
        """Refund the purchase unless it is unknown, refunded, or being refunded now."""
        if not 0 < purchase_id <= MAX_ID:  # a longer number typed names no purchase
            return RefundResult(RefundOutcome.NOT_FOUND, purchase_id)
        if purchase_id in self._in_flight:
            return RefundResult(RefundOutcome.IN_PROGRESS, purchase_id)
        self._in_flight.add(purchase_id)
        try:
            return await self._refund(purchase_id)
        finally:
            self._in_flight.discard(purchase_id)

    async def _refund(self, purchase_id: int) -> RefundResult:
        target = await self._refund_purchase.prepare(purchase_id)
        if isinstance(target, RefundRefusal):
            return RefundResult(RefundOutcome(target.value), purchase_id)
        try:
            await refund_star_payment(
                self._bot, target.telegram_user_id, target.telegram_payment_charge_id
            )
        except TelegramAPIError as error:
            log.warning("refund refused", purchase_id=purchase_id, error=error.message)
            return RefundResult(RefundOutcome.FAILED, purchase_id, error=error.message)
        confirmation = await self._refund_purchase.confirm_once(purchase_id)
        if not confirmation.newly_refunded:
            return RefundResult(RefundOutcome.ALREADY_REFUNDED, purchase_id)
        await self._tell_buyer(target)
        return RefundResult(RefundOutcome.REFUNDED, purchase_id, target.price_stars)

    async def _tell_buyer(self, target: RefundTarget) -> None:
        buyer = translator_for(target.language)
        text = buyer(
            "refund.buyer_notice", title=html.escape(target.product_title), stars=target.price_stars
        )
        try:
            await self._bot.send_message(target.telegram_user_id, text)
        except TelegramForbiddenError:
            # The refund stands; the buyer just cannot hear about it.
            log.info("refunded buyer blocked the bot", purchase_id=target.purchase_id)
            await self._profiles.mark_blocked(target.telegram_user_id)
        except TelegramAPIError as error:
            log.warning(
                "refunded buyer not told", purchase_id=target.purchase_id, error=error.message
            )


async def refund_star_payment(bot: Bot, user_id: int, charge_id: str) -> None:
    """Ask Telegram to give the Stars back; a charge refunded before (by us before a
    crash, by a replica, by support) counts as done."""
    try:
        await bot.refund_star_payment(user_id=user_id, telegram_payment_charge_id=charge_id)
    except TelegramAPIError as error:
        if ALREADY_REFUNDED_ERROR not in error.message:
            raise


def refund_charge_handler(bot: Bot, refunds: RefundRefusedCharge) -> OutboxHandler:
    """Deliver ``{"refused_charge_id": …}``: refund the charge, then record it (which
    queues the shopper's notice and the admins' alert). Raising makes the relay retry;
    after its last attempt the row is dead and the admins are told."""

    async def refund(payload: dict[str, Any]) -> None:
        due = await refunds.due(int(payload["refused_charge_id"]))
        if due is None:
            return
        await refund_star_payment(bot, due.telegram_user_id, due.telegram_payment_charge_id)
        await refunds.confirm(due.refused_charge_id)

    return refund


def describe_refund(result: RefundResult, t: Translator) -> str:
    """What the admin reads about a refund, in the admin's language."""
    purchase_id = result.purchase_id
    match result.outcome:
        case RefundOutcome.REFUNDED:
            return t("refund.done", id=purchase_id, stars=result.price_stars)
        case RefundOutcome.NOT_FOUND:
            return t("refund.not_found", id=purchase_id)
        case RefundOutcome.ALREADY_REFUNDED:
            return t("refund.already", id=purchase_id)
        case RefundOutcome.IN_PROGRESS:
            return t("admin.users.refund_in_progress", id=purchase_id)
        case RefundOutcome.FAILED:
            return t("refund.failed", error=html.escape(result.error))
