"""The admin's product card: preview, text, price, category, status, sales, and the actions
(edit, archive/restore, re-render, delete). Edits are in ``products_edit``."""

from __future__ import annotations

from typing import Any

from aiogram.enums import ContentType
from aiogram.types import CallbackQuery
from aiogram_dialog import Dialog, DialogManager, StartMode, Window
from aiogram_dialog.api.entities import MediaAttachment, MediaId
from aiogram_dialog.widgets.kbd import Button, Cancel, Group, SwitchTo
from aiogram_dialog.widgets.media import DynamicMedia

from vitrina_bot.dialogs.admin import products_edit as edit
from vitrina_bot.dialogs.admin import products_waitlist as waitlist
from vitrina_bot.dialogs.admin.products_confirm import Notify, confirmation, get_confirmation
from vitrina_bot.dialogs.admin.products_edit import product_id
from vitrina_bot.dialogs.admin.products_states import AdminProductSG
from vitrina_bot.dialogs.widgets import T
from vitrina_bot.i18n import Translator
from vitrina_common.db.models import ProductStatus
from vitrina_common.outbox import OutboxRelay
from vitrina_common.services.admin_products import AdminProducts, ProductRefusal
from vitrina_common.services.admin_products_lifecycle import DeleteBlocked, ProductLifecycle
from vitrina_common.text_limits import (
    ADMIN_CARD_DESCRIPTION_CHARS,
    ADMIN_CARD_REASON_CHARS,
    MAX_CATEGORY_CHARS,
    MAX_TITLE_CHARS,
    clipped_html,
)


async def open_card(
    _event: CallbackQuery, _widget: Any, manager: DialogManager, raw_id: str
) -> None:
    """Open a product's card from the list."""
    await manager.start(AdminProductSG.card, data={"product_id": raw_id}, mode=StartMode.NORMAL)


async def get_card(
    dialog_manager: DialogManager, admin_products: AdminProducts, **_: Any
) -> dict[str, Any]:
    """The product whatever its status; ``found`` is False once it is gone."""
    translate: Translator = dialog_manager.middleware_data["t"]
    card = await admin_products.card(product_id(dialog_manager))
    if card is None:
        return {"found": False, "preview": None, "archived": False, "failed": False}
    preview = (
        MediaAttachment(ContentType.PHOTO, file_id=MediaId(card.preview_file_id))
        if card.preview_file_id
        else None
    )
    # A photo caption: long texts are cut (then escaped) to leave room for the other lines.
    description = clipped_html(card.description, ADMIN_CARD_DESCRIPTION_CHARS)
    return {
        "found": True,
        "preview": preview,
        "id": card.id,
        "title": clipped_html(card.title, MAX_TITLE_CHARS),
        "description": description or translate("admin.products.no_description"),
        "price": card.price_stars,
        "category": clipped_html(card.category_title, MAX_CATEGORY_CHARS),
        "status": translate(f"admin.products.status.{card.status.value}"),
        "sold": card.sold,
        "archived": card.status is ProductStatus.ARCHIVED,
        "failed": bool(card.failure_reason),
        "reason": clipped_html(card.failure_reason or "", ADMIN_CARD_REASON_CHARS),
    }


async def _refused(event: CallbackQuery, translate: Translator, refusal: ProductRefusal) -> None:
    await event.answer(translate(f"admin.products.refused.{refusal.value}"), show_alert=True)


async def on_archive(event: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    """Take the product out of the shop (buyers keep their downloads)."""
    lifecycle: ProductLifecycle = manager.middleware_data["product_lifecycle"]
    translate: Translator = manager.middleware_data["t"]
    refusal = await lifecycle.archive(product_id(manager))
    if refusal is not None:
        await _refused(event, translate, refusal)
        return
    await event.answer(translate("admin.products.archived"), show_alert=True)


async def on_restore(event: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    """Put an archived product back on sale."""
    lifecycle: ProductLifecycle = manager.middleware_data["product_lifecycle"]
    translate: Translator = manager.middleware_data["t"]
    refusal = await lifecycle.restore(product_id(manager))
    if refusal is not None:
        await _refused(event, translate, refusal)
        return
    await event.answer(translate("admin.products.restored"))


async def on_rerender(event: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    """Publish a new render job (through the outbox) and tell the admin it is on its way."""
    lifecycle: ProductLifecycle = manager.middleware_data["product_lifecycle"]
    relay: OutboxRelay = manager.middleware_data["outbox_relay"]
    translate: Translator = manager.middleware_data["t"]
    chat_id = event.message.chat.id if event.message is not None else event.from_user.id
    result = await lifecycle.rerender(product_id(manager), notify_chat_id=chat_id)
    if isinstance(result, ProductRefusal):
        await _refused(event, translate, result)
        return
    relay.wake()
    await event.answer(translate("admin.products.rerendering"), show_alert=True)


def _blocked_text(translate: Translator, blocked: DeleteBlocked, pid: int) -> str:
    return translate(
        "admin.products.delete_blocked",
        id=pid,
        purchases=translate("admin.products.purchases", count=blocked.purchases),
        orders=translate("admin.products.orders", count=blocked.orders),
    )


async def on_delete(event: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    """Ask for confirmation, unless the product cannot be deleted anyway."""
    lifecycle: ProductLifecycle = manager.middleware_data["product_lifecycle"]
    translate: Translator = manager.middleware_data["t"]
    pid = product_id(manager)
    blocker = await lifecycle.deletion_blocker(pid)
    if isinstance(blocker, ProductRefusal):
        await _refused(event, translate, blocker)
    elif isinstance(blocker, DeleteBlocked):
        await event.answer(_blocked_text(translate, blocker, pid), show_alert=True)
    else:
        await manager.switch_to(AdminProductSG.delete)


async def delete_confirmed(manager: DialogManager, notify: Notify) -> None:
    """The admin confirmed: delete, or say why not (it sold meanwhile)."""
    lifecycle: ProductLifecycle = manager.middleware_data["product_lifecycle"]
    translate: Translator = manager.middleware_data["t"]
    pid = product_id(manager)
    result = await lifecycle.delete(pid)
    if isinstance(result, ProductRefusal):
        await notify(translate(f"admin.products.refused.{result.value}"))
    elif isinstance(result, DeleteBlocked):
        await notify(_blocked_text(translate, result, pid))
        await manager.switch_to(AdminProductSG.card)
        return
    else:
        await notify(translate("admin.products.deleted", id=pid))
    await manager.done()


not_found = T("admin.products.refused.not_found", when=lambda data, *_: not data["found"])

dialog = Dialog(
    Window(
        DynamicMedia("preview", when="preview"),
        T("admin.products.card", when="found"),
        T("admin.products.failure", when="failed"),
        not_found,
        Group(
            SwitchTo(T("admin.products.edit_title"), id="title", state=AdminProductSG.title),
            SwitchTo(T("admin.products.edit_price"), id="price", state=AdminProductSG.price),
            SwitchTo(
                T("admin.products.edit_description"),
                id="description",
                state=AdminProductSG.description,
            ),
            SwitchTo(
                T("admin.products.edit_category"), id="category", state=AdminProductSG.category
            ),
            Button(
                T("admin.products.archive"),
                id="archive",
                on_click=on_archive,
                when=lambda data, *_: not data["archived"],
            ),
            Button(T("admin.products.restore"), id="restore", on_click=on_restore, when="archived"),
            Button(
                T("admin.products.rerender"),
                id="rerender",
                on_click=on_rerender,
                when=lambda data, *_: not data["archived"],
            ),
            Button(T("admin.products.delete"), id="delete", on_click=on_delete),
            SwitchTo(T("admin.waitlist.open"), id="waitlist", state=AdminProductSG.waitlist),
            SwitchTo(T("admin.waitlist.edition"), id="edition", state=AdminProductSG.edition_size),
            width=2,
            when="found",
        ),
        Cancel(T("admin.menu.back")),
        getter=get_card,
        state=AdminProductSG.card,
    ),
    *edit.windows,
    *waitlist.windows,
    Window(
        T("admin.products.delete_confirm", when="found"),
        not_found,
        *confirmation(delete_confirmed),
        SwitchTo(T("admin.menu.back"), id="back", state=AdminProductSG.card),
        getter=[get_card, get_confirmation],
        state=AdminProductSG.delete,
    ),
)
