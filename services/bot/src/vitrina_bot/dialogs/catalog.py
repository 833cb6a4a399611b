"""Catalog: categories, then a category's products a page at a time, from the database."""

from __future__ import annotations

import operator
from typing import Any

from aiogram.types import CallbackQuery
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.kbd import (
    Back,
    Cancel,
    Column,
    Select,
)
from aiogram_dialog.widgets.text import Format

from vitrina_bot.dialogs.product import open_product
from vitrina_bot.dialogs.states import CatalogSG
from vitrina_bot.dialogs.widgets import PAGE_SIZE, T, current_page, paged_list, pages
from vitrina_common.services.browse import Browse

SCROLL = "products_scroll"


async def get_categories(browse: Browse, **_: Any) -> dict[str, Any]:
    """Categories that have ready products."""
    categories = await browse.categories()
    return {"categories": categories, "count": len(categories)}


async def on_category(
    _event: CallbackQuery, _widget: Any, manager: DialogManager, category_id: str
) -> None:
    """Remember the category, start at its first page."""
    manager.dialog_data["category_id"] = int(category_id)
    await manager.find(SCROLL).set_page(0)  # type: ignore[union-attr]
    await manager.switch_to(CatalogSG.products)


async def get_products(dialog_manager: DialogManager, browse: Browse, **_: Any) -> dict[str, Any]:
    """One page of the chosen category, straight from an indexed LIMIT/OFFSET query."""
    category_id = int(dialog_manager.dialog_data.get("category_id", 0))
    index = await current_page(dialog_manager, SCROLL)
    page = await browse.category_page(category_id, index, PAGE_SIZE)
    return {
        "products": page.items,
        "count": page.total,
        "pages": pages(page.total),
        "page": index + 1,
    }


dialog = Dialog(
    Window(
        T("catalog.categories"),
        Column(
            Select(
                Format("{item.title} · {item.products}"),
                id="category",
                item_id_getter=lambda category: category.id,
                items="categories",
                type_factory=str,
                on_click=on_category,
            )
        ),
        Cancel(T("menu.back")),
        getter=get_categories,
        state=CatalogSG.categories,
    ),
    Window(
        T("catalog.products"),
        *paged_list(
            SCROLL,
            "product",
            "products",
            "{item.title} · {item.price_stars} ⭐",
            open_product,
            item_id=operator.attrgetter("id"),
        ),
        Back(T("menu.back")),
        getter=get_products,
        state=CatalogSG.products,
    ),
)
