"""The product card: preview, text, price, and Buy — or Download for an owner; ♡ and the
limited edition's lines and waitlist buttons come from ``product_edition``."""

from __future__ import annotations

from typing import Any

from aiogram.enums import ContentType
from aiogram.types import CallbackQuery, LabeledPrice
from aiogram_dialog import Dialog, DialogManager, StartMode, Window
from aiogram_dialog.api.entities import MediaAttachment, MediaId
from aiogram_dialog.widgets.kbd import Button, Cancel
from aiogram_dialog.widgets.media import DynamicMedia

from vitrina_bot.dialogs.product_edition import edition_buttons, edition_data, edition_lines
from vitrina_bot.dialogs.start_data import start_id
from vitrina_bot.dialogs.states import ProductSG, TicketsSG
from vitrina_bot.dialogs.widgets import T, id_item, sender_id
from vitrina_bot.files import send_download
from vitrina_bot.i18n import Translator
from vitrina_common.services.browse import Browse
from vitrina_common.services.checkout import (
    CheckoutRefusal,
    Invoice,
    PurchaseQueries,
    StartCheckout,
)
from vitrina_common.text_limits import MAX_DESCRIPTION_CHARS, MAX_TITLE_CHARS, clipped_html

STARS = "XTR"


async def open_product(
    event: CallbackQuery, _widget: Any, manager: DialogManager, product_id: str
) -> None:
    """Open a product card from any list; a forged id shows "not found" on the card."""
    await manager.start(
        ProductSG.card, data={"product_id": id_item(product_id)}, mode=StartMode.NORMAL
    )
    del event


def _product_id(manager: DialogManager) -> int:
    return start_id(manager, "product_id")


async def get_card(
    dialog_manager: DialogManager, browse: Browse, purchase_queries: PurchaseQueries, **_: Any
) -> dict[str, Any]:
    """The card of a ready product; ``found`` is False for anything else."""
    card = await browse.card(_product_id(dialog_manager))
    user_id = sender_id(dialog_manager)
    if card is None or user_id is None:
        return {"found": False, "owned": False, "preview": None, "wished": False, "limited": False}
    owned = await purchase_queries.owns(user_id, card.id)
    preview = (
        MediaAttachment(ContentType.PHOTO, file_id=MediaId(card.preview_file_id))
        if card.preview_file_id
        else None
    )
    return {
        "found": True,
        "owned": owned,
        "preview": preview,
        # Shop data in an HTML caption: escaped, never markup; and cut to what the caption
        # holds, so a description stored before the check at input still shows its card.
        "title": clipped_html(card.title, MAX_TITLE_CHARS),
        "description": clipped_html(card.description, MAX_DESCRIPTION_CHARS),
        "price": card.price_stars,
        **await edition_data(
            dialog_manager, card.id, user_id, owned, limited=card.edition_size is not None
        ),
    }


async def on_buy(event: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    """Create the order and send a Telegram Stars invoice for it."""
    data = manager.middleware_data
    translate: Translator = data["t"]
    start_checkout: StartCheckout = data["start_checkout"]
    result = await start_checkout(event.from_user.id, _product_id(manager))
    if isinstance(result, CheckoutRefusal):
        await event.answer(translate(f"checkout.refused.{result.value}"), show_alert=True)
        return
    await send_invoice(event, result)
    await event.answer()


async def send_invoice(event: CallbackQuery, invoice: Invoice) -> None:
    """Send the Stars invoice into the chat the button was pressed in."""
    if event.bot is None:
        return
    chat_id = event.message.chat.id if event.message is not None else event.from_user.id
    await event.bot.send_invoice(
        chat_id=chat_id,
        title=invoice.title,
        description=invoice.description,
        payload=invoice.payload,
        currency=STARS,
        prices=[LabeledPrice(label=invoice.title, amount=invoice.price_stars)],
        provider_token="",  # Telegram Stars: no payment provider
    )


async def on_download(event: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    """Send the original again to its owner."""
    queries: PurchaseQueries = manager.middleware_data["purchase_queries"]
    download = await queries.downloadable_product(event.from_user.id, _product_id(manager))
    await send_download(event, manager, download)


async def on_problem(event: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    """ "Problem with this image": a new ticket about the shopper's purchase of it."""
    queries: PurchaseQueries = manager.middleware_data["purchase_queries"]
    download = await queries.downloadable_product(event.from_user.id, _product_id(manager))
    if download is None:
        translate: Translator = manager.middleware_data["t"]
        await event.answer(translate("product.not_found"), show_alert=True)
        return
    await manager.start(
        TicketsSG.new, data={"purchase_id": download.purchase_id, "title": download.title}
    )


dialog = Dialog(
    Window(
        DynamicMedia("preview", when="preview"),
        T("product.card", when="found"),
        *edition_lines,
        T("product.owned", when="owned"),
        T("product.not_found", when=lambda data, *_: not data["found"]),
        Button(
            T("product.buy"),
            id="buy",
            on_click=on_buy,
            when=lambda data, *_: data["found"] and not data["owned"] and data["copies_left"],
        ),
        Button(T("product.download"), id="download", on_click=on_download, when="owned"),
        Button(T("product.problem"), id="problem", on_click=on_problem, when="owned"),
        edition_buttons(),
        Cancel(T("menu.back")),
        getter=get_card,
        state=ProductSG.card,
    ),
)
