"""Admin area: categories, in the order the shop lists them. Create, rename, move up or
down, and delete an empty one (with the confirmation step of ``products_confirm``)."""

from __future__ import annotations

import html
from typing import Any

from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.input import ManagedTextInput, TextInput
from aiogram_dialog.widgets.kbd import Button, Cancel, Row, SwitchTo
from aiogram_dialog.widgets.text import Format

from vitrina_bot.dialogs.admin.products_confirm import Notify, confirmation, get_confirmation
from vitrina_bot.dialogs.widgets import PAGE_SIZE, T, current_page, id_item, paged_list, pages
from vitrina_bot.i18n import Translator
from vitrina_common.services.admin_categories import AdminCategories, CategoryRefusal, NotEmpty


class AdminCategoriesSG(StatesGroup):
    listing = State()
    create = State()
    card = State()
    rename = State()
    delete = State()


ENTRY = AdminCategoriesSG.listing
SCROLL = "admin_categories_scroll"


def _services(manager: DialogManager) -> tuple[AdminCategories, Translator]:
    return manager.middleware_data["admin_categories"], manager.middleware_data["t"]


def _category_id(manager: DialogManager) -> int:
    return int(manager.dialog_data.get("category_id", 0))


def _refusal(translate: Translator, refusal: CategoryRefusal, title: str = "") -> str:
    return translate(f"admin.categories.refused.{refusal.value}", title=title)


async def get_listing(
    dialog_manager: DialogManager, admin_categories: AdminCategories, **_: Any
) -> dict[str, Any]:
    """One page of categories in shop order, numbered as the shop shows them."""
    translate: Translator = dialog_manager.middleware_data["t"]
    lines = await admin_categories.lines()
    index = await current_page(dialog_manager, SCROLL)
    start = index * PAGE_SIZE
    shown = list(enumerate(lines, start=1))[start : start + PAGE_SIZE]
    rows = [
        translate(
            "admin.categories.line",
            place=place,
            title=html.escape(line.title),
            products=translate("admin.categories.products", count=line.products),
        )
        for place, line in shown
    ]
    return {
        "count": len(lines),
        "rows": "\n".join(rows),
        "categories": [(line.id, f"{place}. {line.title}") for place, line in shown],
        "pages": pages(len(lines)),
        "page": index + 1,
    }


async def get_card(
    dialog_manager: DialogManager, admin_categories: AdminCategories, **_: Any
) -> dict[str, Any]:
    """The chosen category: its place in the shop and what it holds."""
    translate: Translator = dialog_manager.middleware_data["t"]
    card = await admin_categories.card(_category_id(dialog_manager))
    if card is None:
        return {"found": False}
    return {
        "found": True,
        "title": html.escape(card.title),
        "place": card.place,
        "of": card.of,
        "products": translate("admin.categories.products", count=card.products),
    }


async def on_open(_event: CallbackQuery, _widget: Any, manager: DialogManager, raw: str) -> None:
    """Open one category's screen."""
    manager.dialog_data["category_id"] = id_item(raw)
    await manager.switch_to(AdminCategoriesSG.card)


async def on_create(
    message: Message, _widget: ManagedTextInput[str], manager: DialogManager, text: str
) -> None:
    """Create a category at the end of the list, then show it."""
    categories, translate = _services(manager)
    result = await categories.create(text)
    if isinstance(result, CategoryRefusal):
        await message.answer(_refusal(translate, result, text.strip()), parse_mode=None)
        return
    await message.answer(translate("admin.categories.created", title=text.strip()), parse_mode=None)
    manager.dialog_data["category_id"] = result
    await manager.switch_to(AdminCategoriesSG.card)


async def on_rename(
    message: Message, _widget: ManagedTextInput[str], manager: DialogManager, text: str
) -> None:
    """Rename the chosen category."""
    categories, translate = _services(manager)
    refusal = await categories.rename(_category_id(manager), text)
    if refusal is not None:
        await message.answer(_refusal(translate, refusal, text.strip()), parse_mode=None)
        return
    await manager.switch_to(AdminCategoriesSG.card)


async def _move(event: CallbackQuery, manager: DialogManager, step: int) -> None:
    categories, translate = _services(manager)
    refusal = await categories.move(_category_id(manager), step)
    await event.answer(_refusal(translate, refusal) if refusal is not None else None)


async def on_up(event: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    """One place earlier in the shop."""
    await _move(event, manager, -1)


async def on_down(event: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    """One place later in the shop."""
    await _move(event, manager, +1)


def _not_empty(translate: Translator, blocked: NotEmpty) -> str:
    return translate("admin.categories.not_empty", count=blocked.products)


async def on_delete(event: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    """Ask for confirmation, unless the category still holds products."""
    categories, translate = _services(manager)
    blocker = await categories.deletion_blocker(_category_id(manager))
    if isinstance(blocker, CategoryRefusal):
        await event.answer(_refusal(translate, blocker), show_alert=True)
    elif isinstance(blocker, NotEmpty):
        await event.answer(_not_empty(translate, blocker), show_alert=True)
    else:
        await manager.switch_to(AdminCategoriesSG.delete)


async def delete_confirmed(manager: DialogManager, notify: Notify) -> None:
    """The admin confirmed: delete, or say why not (a product arrived meanwhile)."""
    categories, translate = _services(manager)
    card = await categories.card(_category_id(manager))
    result = await categories.delete(_category_id(manager))
    if isinstance(result, NotEmpty):
        await notify(_not_empty(translate, result))
        await manager.switch_to(AdminCategoriesSG.card)
        return
    if result is None and card is not None:
        await notify(translate("admin.categories.deleted", title=card.title))
    else:
        await notify(_refusal(translate, CategoryRefusal.NOT_FOUND))
    await manager.switch_to(AdminCategoriesSG.listing)


_to_listing = SwitchTo(T("admin.menu.back"), id="to_list", state=AdminCategoriesSG.listing)
_to_card = SwitchTo(T("admin.menu.back"), id="to_card", state=AdminCategoriesSG.card)
_missing = T("admin.categories.refused.not_found", when=lambda data, *_: not data["found"])

dialog = Dialog(
    Window(
        T("admin.categories.list"),
        Format("{rows}"),
        *paged_list(SCROLL, "category", "categories", "{item[1]}", on_open),
        SwitchTo(T("admin.categories.create"), id="create", state=AdminCategoriesSG.create),
        Cancel(T("admin.menu.back")),
        getter=get_listing,
        state=AdminCategoriesSG.listing,
    ),
    Window(
        T("admin.categories.create_prompt"),
        TextInput(id="new_title", on_success=on_create),
        _to_listing,
        state=AdminCategoriesSG.create,
    ),
    Window(
        T("admin.categories.card", when="found"),
        _missing,
        Row(
            Button(T("admin.categories.up"), id="up", on_click=on_up),
            Button(T("admin.categories.down"), id="down", on_click=on_down),
            when="found",
        ),
        Row(
            SwitchTo(T("admin.categories.rename"), id="rename", state=AdminCategoriesSG.rename),
            Button(T("admin.categories.delete"), id="delete", on_click=on_delete),
            when="found",
        ),
        _to_listing,
        getter=get_card,
        state=AdminCategoriesSG.card,
    ),
    Window(
        T("admin.categories.rename_prompt"),
        TextInput(id="rename_title", on_success=on_rename),
        _to_card,
        getter=get_card,
        state=AdminCategoriesSG.rename,
    ),
    Window(
        T("admin.categories.delete_confirm", when="found"),
        _missing,
        *confirmation(delete_confirmed),
        _to_card,
        getter=[get_card, get_confirmation],
        state=AdminCategoriesSG.delete,
    ),
)

dialogs = (dialog,)
