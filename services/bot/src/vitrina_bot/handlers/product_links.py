"""Product buttons on messages outside any dialog (broadcasts, notifications): a press
opens that product's card as a new message, leaving the message it came from (and its
other buttons) as it was."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery
from aiogram_dialog import DialogManager, ShowMode, StartMode

from vitrina_bot.dialogs.states import ProductSG
from vitrina_common.sending.message import PRODUCT_LINK_PREFIX

router = Router(name="product_links")


class ProductLink(CallbackData, prefix=PRODUCT_LINK_PREFIX):
    """``product:<id>``, as ``vitrina_common.sending.product_button`` writes it."""

    id: int


@router.callback_query(ProductLink.filter())
async def on_product_link(
    callback: CallbackQuery, callback_data: ProductLink, dialog_manager: DialogManager
) -> None:
    """Show the card; an id that is not a product on sale shows the card's "not found"."""
    await callback.answer()
    # Through the background manager: a manager bound to this callback would treat the
    # pressed message as the dialog's and strip its buttons (the broadcast's own).
    await dialog_manager.bg().start(
        ProductSG.card,
        data={"product_id": callback_data.id},
        mode=StartMode.RESET_STACK,
        show_mode=ShowMode.SEND,
    )
