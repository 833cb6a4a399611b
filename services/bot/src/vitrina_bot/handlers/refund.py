"""/refund <purchase id>: an admin returns a buyer's Stars (refundStarPayment) and the buyer
loses the download. Non-admins never reach this router: to them /refund is unknown."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from vitrina_bot.filters import IsAdmin
from vitrina_bot.i18n import Translator, translator_for
from vitrina_common.services.checkout import RefundPurchase, RefundRefusal

router = Router(name="refund")
router.message.filter(IsAdmin())


@router.message(Command("refund"))
async def on_refund(
    message: Message,
    command: CommandObject,
    bot: Bot,
    refund_purchase: RefundPurchase,
    t: Translator,
) -> None:
    """Refund through Telegram first; only a refund Telegram accepted is recorded."""
    raw = (command.args or "").strip().lstrip("#")
    if not raw.isdigit():
        await message.answer(t("refund.usage"))
        return
    purchase_id = int(raw)
    target = await refund_purchase.prepare(purchase_id)
    if target is RefundRefusal.NOT_FOUND:
        await message.answer(t("refund.not_found", id=purchase_id))
        return
    if isinstance(target, RefundRefusal):
        await message.answer(t("refund.already", id=purchase_id))
        return
    try:
        await bot.refund_star_payment(
            user_id=target.telegram_user_id,
            telegram_payment_charge_id=target.telegram_payment_charge_id,
        )
    except TelegramAPIError as error:
        # After a crash between Telegram's OK and our record, the retry hears this: done.
        if "CHARGE_ALREADY_REFUNDED" not in error.message:
            await message.answer(t("refund.failed", error=error.message))
            return
    await refund_purchase.confirm(purchase_id)
    await message.answer(t("refund.done", id=purchase_id, stars=target.price_stars))
    buyer = translator_for(target.language)
    await bot.send_message(
        target.telegram_user_id,
        buyer("refund.buyer_notice", title=target.product_title, stars=target.price_stars),
    )
