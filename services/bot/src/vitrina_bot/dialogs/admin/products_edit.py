"""Editing a product from its card: title, description, price (typed), category (chosen).

Each save is one transaction in ``AdminProducts``; a refused value is answered with the
reason and the prompt stays, so the admin can send a better one.
"""

from __future__ import annotations

import html
from typing import Any

from aiogram.types import CallbackQuery, Message
from aiogram_dialog import DialogManager, Window
from aiogram_dialog.widgets.input import ManagedTextInput, TextInput
from aiogram_dialog.widgets.kbd import SwitchTo

from vitrina_bot.dialogs.admin.products_states import AdminProductSG
from vitrina_bot.dialogs.start_data import start_id
from vitrina_bot.dialogs.widgets import PAGE_SIZE, T, current_page, id_item, paged_list, pages
from vitrina_bot.i18n import Translator
from vitrina_common.services.admin_categories import AdminCategories
from vitrina_common.services.admin_products import AdminProducts, ProductRefusal

CATEGORY_SCROLL = "admin_product_category_scroll"


def product_id(manager: DialogManager) -> int:
    """The id the card was opened with (0 when missing or forged)."""
    return start_id(manager, "product_id")


async def get_current(
    dialog_manager: DialogManager, admin_products: AdminProducts, **_: Any
) -> dict[str, Any]:
    """What the prompts quote: the current title, price and category."""
    card = await admin_products.card(product_id(dialog_manager))
    if card is None:
        return {"title": "—", "price": "—", "category": "—"}
    return {
        "title": html.escape(card.title),
        "price": card.price_stars,
        "category": html.escape(card.category_title),
    }


async def _saved(message: Message, manager: DialogManager, refusal: ProductRefusal | None) -> None:
    translate: Translator = manager.middleware_data["t"]
    if refusal is not None:
        await message.answer(translate(f"admin.products.refused.{refusal.value}"), parse_mode=None)
        return
    await manager.switch_to(AdminProductSG.card)


async def on_title(
    message: Message, _widget: ManagedTextInput[str], manager: DialogManager, text: str
) -> None:
    """Save a new title."""
    admin_products: AdminProducts = manager.middleware_data["admin_products"]
    await _saved(message, manager, await admin_products.rename(product_id(manager), text))


async def on_description(
    message: Message, _widget: ManagedTextInput[str], manager: DialogManager, text: str
) -> None:
    """Save a new description ("-" clears it)."""
    admin_products: AdminProducts = manager.middleware_data["admin_products"]
    await _saved(message, manager, await admin_products.describe(product_id(manager), text))


async def on_price(
    message: Message, _widget: ManagedTextInput[str], manager: DialogManager, text: str
) -> None:
    """Save a new price."""
    admin_products: AdminProducts = manager.middleware_data["admin_products"]
    await _saved(message, manager, await admin_products.reprice(product_id(manager), text))


async def get_categories(
    dialog_manager: DialogManager, admin_categories: AdminCategories, **_: Any
) -> dict[str, Any]:
    """One page of categories in shop order to choose from."""
    lines = await admin_categories.lines()
    index = await current_page(dialog_manager, CATEGORY_SCROLL)
    shown = lines[index * PAGE_SIZE : (index + 1) * PAGE_SIZE]
    return {"categories": [(line.id, line.title) for line in shown], "pages": pages(len(lines))}


async def on_category(
    event: CallbackQuery, _widget: Any, manager: DialogManager, raw_id: str
) -> None:
    """Move the product into the chosen category."""
    admin_products: AdminProducts = manager.middleware_data["admin_products"]
    translate: Translator = manager.middleware_data["t"]
    category_id = id_item(raw_id)
    refusal = await admin_products.move_to_category(product_id(manager), category_id)
    if refusal is not None:
        await event.answer(translate(f"admin.products.refused.{refusal.value}"), show_alert=True)
        return
    await manager.switch_to(AdminProductSG.card)


_back = SwitchTo(T("admin.menu.back"), id="back", state=AdminProductSG.card)

windows = (
    Window(
        T("admin.products.title_prompt"),
        TextInput(id="title_text", on_success=on_title),
        _back,
        getter=get_current,
        state=AdminProductSG.title,
    ),
    Window(
        T("admin.products.description_prompt"),
        TextInput(id="description_text", on_success=on_description),
        _back,
        state=AdminProductSG.description,
    ),
    Window(
        T("admin.products.price_prompt"),
        TextInput(id="price_text", on_success=on_price),
        _back,
        getter=get_current,
        state=AdminProductSG.price,
    ),
    Window(
        T("admin.products.category_prompt"),
        *paged_list(CATEGORY_SCROLL, "to_category", "categories", "{item[1]}", on_category),
        _back,
        getter=[get_current, get_categories],
        state=AdminProductSG.category,
    ),
)
