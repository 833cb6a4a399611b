"""Widgets that take their text from the translation catalogs."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from aiogram.types import User
from aiogram_dialog import DialogManager
from aiogram_dialog.widgets.kbd import Column, NextPage, PrevPage, Row, Select, StubScroll
from aiogram_dialog.widgets.kbd.select import OnItemClick
from aiogram_dialog.widgets.text import Const, Format, Text

from vitrina_bot.i18n import Translator
from vitrina_common.ids import parse_id

PAGE_SIZE = 8


class T(Text):
    """The catalog entry ``key`` in the user's language, formatted with the getter's data."""

    def __init__(self, key: str, when: Any = None) -> None:
        super().__init__(when=when)
        self.key = key

    async def _render_text(self, data: dict[str, Any], manager: DialogManager) -> str:
        translate: Translator = manager.middleware_data["t"]
        return translate(self.key, **data)


async def current_page(manager: DialogManager, scroll_id: str) -> int:
    """The 0-based page a StubScroll shows."""
    scroll = manager.find(scroll_id)
    return int(await scroll.get_page()) if scroll is not None else 0


def pages(total: int) -> int:
    """How many pages ``total`` items fill."""
    return max(1, -(-total // PAGE_SIZE))


def sender_id(manager: DialogManager) -> int | None:
    """The Telegram id of whoever caused this update."""
    user: User | None = manager.middleware_data.get("event_from_user")
    return user.id if user is not None else None


def pager(scroll_id: str) -> Row:
    """◀️ / ▶️ for a StubScroll, each shown only where there is a page to go to."""
    return Row(
        # A pager button renders with its own data: 0-based current_page and pages.
        PrevPage(scroll=scroll_id, text=Const("◀️"), when=lambda data, *_: data["current_page"] > 0),
        NextPage(
            scroll=scroll_id,
            text=Const("▶️"),
            when=lambda data, *_: data["current_page"] < data["pages"] - 1,
        ),
    )


def id_item(text: str) -> int:
    """A button's item id as a row id; 0 (found nowhere) for a forged one. Also a Select's
    ``type_factory``: aiogram-dialog calls it outside any handler, so it must not raise."""
    return parse_id(text) or 0


def paged_list(
    scroll_id: str,
    select_id: str,
    items: str,
    label: str,
    on_click: OnItemClick[Select[str], str],
    item_id: Callable[[Any], str | int] = operator.itemgetter(0),
) -> tuple[StubScroll, Column, Row]:
    """One page of the getter's ``items`` (the page it loaded for ``scroll_id``), a button
    each labelled by the ``label`` format, then ◀️ / ▶️. Items are ``(id, label)`` rows
    unless ``item_id`` says where their id is; the getter also returns ``pages``."""
    return (
        StubScroll(id=scroll_id, pages="pages"),
        Column(
            Select(
                Format(label),
                id=select_id,
                item_id_getter=item_id,
                items=items,
                type_factory=str,
                on_click=on_click,
            )
        ),
        pager(scroll_id),
    )
