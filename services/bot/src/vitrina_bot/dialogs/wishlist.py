"""The wishlist (/wishlist, or ♥ in the menu): the products a shopper wished for, a page
at a time; tap one to open its card."""

from __future__ import annotations

import operator
from typing import Any

from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.kbd import Cancel

from vitrina_bot.dialogs.product import open_product
from vitrina_bot.dialogs.states import WishlistSG
from vitrina_bot.dialogs.widgets import PAGE_SIZE, T, current_page, paged_list, pages, sender_id
from vitrina_common.services.wishlist import Wishlist
from vitrina_common.text_limits import MAX_TITLE_CHARS, clip

SCROLL = "wishlist_scroll"


async def get_wishlist(
    dialog_manager: DialogManager, wishlist: Wishlist, **_: Any
) -> dict[str, Any]:
    """The shopper's wishes, newest first; products off sale are marked."""
    user_id = sender_id(dialog_manager)
    page = await current_page(dialog_manager, SCROLL)
    found = await wishlist.page(user_id, page * PAGE_SIZE, PAGE_SIZE) if user_id else None
    items = found.items if found is not None else []
    total = found.total if found is not None else 0
    # Button labels are plain text (no HTML), so titles only need cutting.
    lines = [
        (item.product_id, f"{'♥' if item.on_sale else '⏸'} {clip(item.title, MAX_TITLE_CHARS)}")
        for item in items
    ]
    return {
        "wishes": lines,
        "count": total,
        "pages": pages(total),
        "page": page + 1,
        "empty": total == 0,
    }


dialog = Dialog(
    Window(
        T("wishlist.title", when=lambda data, *_: not data["empty"]),
        T("wishlist.empty", when="empty"),
        *paged_list(
            SCROLL, "wish", "wishes", "{item[1]}", open_product, item_id=operator.itemgetter(0)
        ),
        Cancel(T("menu.back")),
        getter=get_wishlist,
        state=WishlistSG.listing,
    ),
)
