"""My purchases: every paid product, a page at a time; tap one to download it again."""

from __future__ import annotations

import operator
from typing import Any

from aiogram.types import CallbackQuery
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.kbd import Cancel

from vitrina_bot.dialogs.states import PurchasesSG
from vitrina_bot.dialogs.widgets import (
    PAGE_SIZE,
    T,
    current_page,
    paged_list,
    pages,
    sender_id,
)
from vitrina_bot.files import send_download
from vitrina_common.ids import parse_id
from vitrina_common.services.checkout import PurchaseQueries

SCROLL = "purchases_scroll"


async def get_purchases(
    dialog_manager: DialogManager, purchase_queries: PurchaseQueries, **_: Any
) -> dict[str, Any]:
    """The shopper's own purchases, newest first."""
    user_id = sender_id(dialog_manager)
    page = await current_page(dialog_manager, SCROLL)
    items, total = (
        await purchase_queries.list_for_user(user_id, page * PAGE_SIZE, PAGE_SIZE)
        if user_id is not None
        else ([], 0)
    )
    return {"purchases": items, "count": total, "pages": pages(total), "page": page + 1}


async def on_purchase(
    event: CallbackQuery, _widget: Any, manager: DialogManager, purchase_id: str
) -> None:
    """Send the file again; another user's or a refunded purchase id gets "not found"."""
    queries: PurchaseQueries = manager.middleware_data["purchase_queries"]
    parsed = parse_id(purchase_id)
    download = None if parsed is None else await queries.downloadable(event.from_user.id, parsed)
    await send_download(event, manager, download)


dialog = Dialog(
    Window(
        T("purchases.title"),
        *paged_list(
            SCROLL,
            "purchase",
            "purchases",
            "⬇️ {item.title}",
            on_purchase,
            item_id=operator.attrgetter("purchase_id"),
        ),
        Cancel(T("menu.back")),
        getter=get_purchases,
        state=PurchasesSG.listing,
    ),
)
