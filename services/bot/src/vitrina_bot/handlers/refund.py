"""/refund <purchase id>: an admin returns a buyer's Stars (refundStarPayment) and the buyer
loses the download. Non-admins never reach this router: to them /refund is unknown."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from vitrina_bot.filters import IsAdmin
from vitrina_bot.i18n import Translator
from vitrina_bot.refunds import StarRefunds, describe_refund
from vitrina_common.ids import parse_id

router = Router(name="refund")
router.message.filter(IsAdmin())


@router.message(Command("refund"))
async def on_refund(
    message: Message, command: CommandObject, star_refunds: StarRefunds, t: Translator
) -> None:
    """Refund through Telegram first; only a refund Telegram accepted is recorded."""
    purchase_id = parse_id((command.args or "").strip().lstrip("#"))
    if purchase_id is None:
        await message.answer(t("refund.usage"))
        return
    result = await star_refunds.refund(purchase_id)
    await message.answer(describe_refund(result, t))
