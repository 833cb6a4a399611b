"""Search: the shopper types words, results come a page at a time from trigram indexes."""

from __future__ import annotations

import html
import operator
from typing import Any

from aiogram.types import Message
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.input import ManagedTextInput, TextInput
from aiogram_dialog.widgets.kbd import (
    Back,
    Cancel,
)

from vitrina_bot.dialogs.product import open_product
from vitrina_bot.dialogs.states import SearchSG
from vitrina_bot.dialogs.widgets import PAGE_SIZE, T, current_page, paged_list, pages
from vitrina_common.services.browse import MAX_SEARCH_LENGTH, MIN_SEARCH_LENGTH, Browse

SCROLL = "results_scroll"


async def on_query(
    _message: Message, _widget: ManagedTextInput[str], manager: DialogManager, text: str
) -> None:
    """Keep the query and show its first page of results."""
    manager.dialog_data["query"] = text.strip()[:MAX_SEARCH_LENGTH]
    await manager.find(SCROLL).set_page(0)  # type: ignore[union-attr]
    await manager.switch_to(SearchSG.results)


async def get_results(dialog_manager: DialogManager, browse: Browse, **_: Any) -> dict[str, Any]:
    """One page of matches for the stored query."""
    query = str(dialog_manager.dialog_data.get("query", ""))
    index = await current_page(dialog_manager, SCROLL)
    page = await browse.search(query, index, PAGE_SIZE)
    return {
        # What the shopper typed, inside an HTML message.
        "query": html.escape(query),
        "products": page.items,
        "count": page.total,
        "pages": pages(page.total),
        "page": index + 1,
        "too_short": len(query) < MIN_SEARCH_LENGTH,
    }


dialog = Dialog(
    Window(
        T("search.prompt"),
        TextInput(id="query", on_success=on_query),
        Cancel(T("menu.back")),
        state=SearchSG.query,
    ),
    Window(
        T("search.too_short", when="too_short"),
        T("search.results", when=lambda data, *_: not data["too_short"]),
        *paged_list(
            SCROLL,
            "found",
            "products",
            "{item.title} · {item.price_stars} ⭐",
            open_product,
            item_id=operator.attrgetter("id"),
        ),
        Back(T("search.again")),
        Cancel(T("menu.back")),
        getter=get_results,
        state=SearchSG.results,
    ),
)
