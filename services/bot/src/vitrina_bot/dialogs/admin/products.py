"""Admin area: products. Every product of every status, newest first, a page at a time,
narrowed by status or by a search (title words or ``#id``); a tap opens its card.

New products still come from uploads (an image sent as a file with a caption, see
``handlers/admin_upload.py``); this screen says how.
"""

from __future__ import annotations

import html
from typing import Any

from aiogram.types import CallbackQuery, Message
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.input import ManagedTextInput, TextInput
from aiogram_dialog.widgets.kbd import Button, Cancel, Group, Select, SwitchTo
from aiogram_dialog.widgets.text import Format

from vitrina_bot.dialogs.admin.products_card import dialog as card_dialog
from vitrina_bot.dialogs.admin.products_card import open_card
from vitrina_bot.dialogs.admin.products_states import AdminProductsSG
from vitrina_bot.dialogs.widgets import PAGE_SIZE, T, current_page, paged_list, pages
from vitrina_bot.i18n import Translator
from vitrina_common.db.models import ProductStatus
from vitrina_common.services.admin_products import AdminProducts

ENTRY = AdminProductsSG.listing
SCROLL = "admin_products_scroll"
ALL = "all"
MAX_SEARCH_CHARS = 64
STATUS_ICONS = {
    ProductStatus.DRAFT: "📝",
    ProductStatus.RENDERING: "⏳",
    ProductStatus.READY: "✅",
    ProductStatus.FAILED: "⚠️",
    ProductStatus.ARCHIVED: "📦",
}


def _status(manager: DialogManager) -> ProductStatus | None:
    raw = manager.dialog_data.get("status")
    return ProductStatus(raw) if raw in {status.value for status in ProductStatus} else None


async def get_listing(
    dialog_manager: DialogManager, admin_products: AdminProducts, **_: Any
) -> dict[str, Any]:
    """One page of products under the chosen status and search."""
    translate: Translator = dialog_manager.middleware_data["t"]
    status = _status(dialog_manager)
    search = str(dialog_manager.dialog_data.get("search", ""))
    index = await current_page(dialog_manager, SCROLL)
    page = await admin_products.page(index * PAGE_SIZE, PAGE_SIZE, status=status, search=search)
    items = [
        (line.id, f"{STATUS_ICONS[line.status]} #{line.id} {line.title} · {line.price_stars} ⭐")
        for line in page.items
    ]
    return {
        "products": items,
        "count": page.total,
        "pages": pages(page.total),
        "page": index + 1,
        "showing": translate(
            f"admin.products.status.{status.value}" if status else "admin.products.all"
        ),
        "search": html.escape(search),
        "searching": bool(search),
    }


async def get_statuses(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    """ "All" and every status, labelled in the admin's language."""
    translate: Translator = dialog_manager.middleware_data["t"]
    choices = [(ALL, translate("admin.products.all"))]
    choices += [(s.value, translate(f"admin.products.status.{s.value}")) for s in ProductStatus]
    return {"statuses": choices}


async def _first_page(manager: DialogManager) -> None:
    await manager.find(SCROLL).set_page(0)  # type: ignore[union-attr]
    await manager.switch_to(AdminProductsSG.listing)


async def on_status(
    _event: CallbackQuery, _widget: Any, manager: DialogManager, status: str
) -> None:
    """Show one status (or all) from the first page."""
    manager.dialog_data["status"] = None if status == ALL else status
    await _first_page(manager)


async def on_search(
    _message: Message, _widget: ManagedTextInput[str], manager: DialogManager, text: str
) -> None:
    """Keep the search and show its first page."""
    manager.dialog_data["search"] = text.strip()[:MAX_SEARCH_CHARS]
    await _first_page(manager)


async def on_clear_search(_event: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    """Back to every product of the chosen status."""
    manager.dialog_data.pop("search", None)
    await _first_page(manager)


listing = Dialog(
    Window(
        T("admin.products.list"),
        T("admin.products.showing"),
        T("admin.products.searching", when="searching"),
        T("admin.products.how_to_add"),
        *paged_list(SCROLL, "product", "products", "{item[1]}", open_card),
        Group(
            SwitchTo(T("admin.products.filter"), id="filter", state=AdminProductsSG.status),
            SwitchTo(T("admin.products.search"), id="search", state=AdminProductsSG.search),
            width=2,
        ),
        Button(
            T("admin.products.clear_search"),
            id="clear_search",
            on_click=on_clear_search,
            when="searching",
        ),
        Cancel(T("admin.menu.back")),
        getter=get_listing,
        state=AdminProductsSG.listing,
    ),
    Window(
        T("admin.products.filter_prompt"),
        Group(
            Select(
                Format("{item[1]}"),
                id="status",
                item_id_getter=lambda item: item[0],
                items="statuses",
                type_factory=str,
                on_click=on_status,
            ),
            width=2,
        ),
        SwitchTo(T("admin.menu.back"), id="back", state=AdminProductsSG.listing),
        getter=get_statuses,
        state=AdminProductsSG.status,
    ),
    Window(
        T("admin.products.search_prompt"),
        TextInput(id="search_text", on_success=on_search),
        SwitchTo(T("admin.menu.back"), id="back", state=AdminProductsSG.listing),
        state=AdminProductsSG.search,
    ),
)

dialogs = (listing, card_dialog)
