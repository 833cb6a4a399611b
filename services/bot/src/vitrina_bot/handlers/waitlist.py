"""/wishlist, /mine and /categories, and the Buy button of a reserved copy's message.

The Buy button carries the reservation's id; only the shopper it was offered to gets an
invoice (checkout counts the copy as theirs alone), anyone else or a forged id gets a
plain answer.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram_dialog import DialogManager, StartMode

from vitrina_bot.dialogs.product import send_invoice
from vitrina_bot.dialogs.states import CatalogSG, PurchasesSG, WishlistSG
from vitrina_bot.i18n import Translator
from vitrina_common.ids import parse_id
from vitrina_common.services.checkout import CheckoutRefusal, StartCheckout
from vitrina_common.services.waitlist.effects import BUY_CALLBACK_PREFIX
from vitrina_common.services.waitlist.shopper import Waitlist, WaitlistRefusal

router = Router(name="waitlist")


@router.message(Command("wishlist"))
async def on_wishlist(message: Message, dialog_manager: DialogManager) -> None:
    """The shopper's wishlist."""
    del message
    await dialog_manager.start(WishlistSG.listing, mode=StartMode.RESET_STACK)


@router.message(Command("mine"))
async def on_mine(message: Message, dialog_manager: DialogManager) -> None:
    """My purchases."""
    del message
    await dialog_manager.start(PurchasesSG.listing, mode=StartMode.RESET_STACK)


@router.message(Command("categories"))
async def on_categories(message: Message, dialog_manager: DialogManager) -> None:
    """The catalog's categories."""
    del message
    await dialog_manager.start(CatalogSG.categories, mode=StartMode.RESET_STACK)


@router.callback_query(F.data.startswith(BUY_CALLBACK_PREFIX))
async def on_reserved_buy(
    callback: CallbackQuery, t: Translator, waitlist: Waitlist, start_checkout: StartCheckout
) -> None:
    """Buy a copy reserved for this shopper: the invoice, or why not."""
    offer_id = parse_id((callback.data or "").removeprefix(BUY_CALLBACK_PREFIX))
    if offer_id is None:
        await callback.answer(t("waitlist.refused.no_offer"), show_alert=True)
        return
    claimed = await waitlist.claim(callback.from_user.id, offer_id)
    if isinstance(claimed, WaitlistRefusal):
        await callback.answer(t(f"waitlist.refused.{claimed.value}"), show_alert=True)
        return
    invoice = await start_checkout(callback.from_user.id, claimed)
    if isinstance(invoice, CheckoutRefusal):
        await callback.answer(t(f"checkout.refused.{invoice.value}"), show_alert=True)
        return
    await send_invoice(callback, invoice)
    await callback.answer()
