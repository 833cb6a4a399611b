"""Catalog: categories, then a category's products a page at a time, from the database."""

from __future__ import annotations

import operator
from typing import Any

from aiogram.types import CallbackQuery
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.kbd import (
    Back,
    Button,
    Cancel,
    Column,
    Select,
)
from aiogram_dialog.widgets.text import Format

from vitrina_bot.dialogs.product import open_product
from vitrina_bot.dialogs.states import CatalogSG
from vitrina_bot.dialogs.widgets import (
    PAGE_SIZE,
    T,
    current_page,
    id_item,
    paged_list,
    pages,
    sender_id,
)
from vitrina_bot.i18n import Translator
from vitrina_common.services.browse import Browse
from vitrina_common.services.notifications.preferences import CategoryFollows

SCROLL = "products_scroll"
# dialog_data: whether the shopper follows the category shown (set on entering it).
FOLLOWING = "following_category"


async def get_categories(browse: Browse, **_: Any) -> dict[str, Any]:
    """Categories that have ready products."""
    categories = await browse.categories()
    return {"categories": categories, "count": len(categories)}


async def on_category(
    _event: CallbackQuery, _widget: Any, manager: DialogManager, category_id: str
) -> None:
    """Remember the category, start at its first page."""
    manager.dialog_data["category_id"] = id_item(category_id)
    # Whether the shopper follows it is read once per visit, not on every page turn.
    manager.dialog_data.pop(FOLLOWING, None)
    await manager.find(SCROLL).set_page(0)  # type: ignore[union-attr]
    await manager.switch_to(CatalogSG.products)


async def on_follow_toggle(event: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    """Follow the category, or unfollow it; the screen shows the other button then."""
    follows: CategoryFollows = manager.middleware_data["category_follows"]
    translate: Translator = manager.middleware_data["t"]
    category_id = int(manager.dialog_data.get("category_id", 0))
    if await follows.is_following(event.from_user.id, category_id):
        await follows.unfollow(event.from_user.id, category_id)
        manager.dialog_data[FOLLOWING] = False
        await event.answer(translate("catalog.unfollowed"))
    elif await follows.follow(event.from_user.id, category_id):
        manager.dialog_data[FOLLOWING] = True
        await event.answer(translate("catalog.followed"))


async def get_products(
    dialog_manager: DialogManager, browse: Browse, category_follows: CategoryFollows, **_: Any
) -> dict[str, Any]:
    """One page of the chosen category, straight from an indexed LIMIT/OFFSET query, and
    whether the shopper follows it."""
    category_id = int(dialog_manager.dialog_data.get("category_id", 0))
    index = await current_page(dialog_manager, SCROLL)
    page = await browse.category_page(category_id, index, PAGE_SIZE)
    following = dialog_manager.dialog_data.get(FOLLOWING)
    if following is None:
        user_id = sender_id(dialog_manager)
        following = user_id is not None and await category_follows.is_following(
            user_id, category_id
        )
        dialog_manager.dialog_data[FOLLOWING] = following
    return {
        "following": following,
        "not_following": not following,
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
        Button(T("catalog.follow"), id="follow", on_click=on_follow_toggle, when="not_following"),
        Button(T("catalog.unfollow"), id="unfollow", on_click=on_follow_toggle, when="following"),
        Back(T("menu.back")),
        getter=get_products,
        state=CatalogSG.products,
    ),
)
