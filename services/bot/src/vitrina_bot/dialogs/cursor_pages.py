"""◀️ / ▶️ over a keyset-paged list (a use case that returns ``next_cursor``).

The cursors of the pages seen so far live in the dialog's data, so ◀️ goes back without
asking for a "previous" cursor, and the state survives a restart like the rest of the
dialog (it is JSON: strings and None).
"""

from __future__ import annotations

from typing import Any

from aiogram.types import CallbackQuery
from aiogram_dialog import DialogManager
from aiogram_dialog.widgets.kbd import Button, Row
from aiogram_dialog.widgets.text import Const

_CURSORS = "page_cursors"
_PAGE = "page_index"


def _cursors(manager: DialogManager) -> list[str | None]:
    stored = manager.dialog_data.get(_CURSORS)
    return list(stored) if isinstance(stored, list) and stored else [None]


def _index(manager: DialogManager) -> int:
    return min(int(manager.dialog_data.get(_PAGE, 0)), len(_cursors(manager)) - 1)


def page_cursor(manager: DialogManager) -> str | None:
    """The cursor of the page to show (None: the first page)."""
    return _cursors(manager)[_index(manager)]


def paging_data(manager: DialogManager, next_cursor: str | None) -> dict[str, Any]:
    """Remember where the next page starts; ``has_prev``/``has_next``/``page`` for the
    window."""
    cursors, index = _cursors(manager), _index(manager)
    del cursors[index + 1 :]
    if next_cursor is not None:
        cursors.append(next_cursor)
    manager.dialog_data[_CURSORS] = cursors
    return {"has_prev": index > 0, "has_next": next_cursor is not None, "page": index + 1}


def reset_paging(manager: DialogManager) -> None:
    """Back to the first page (the filters changed)."""
    manager.dialog_data[_CURSORS] = [None]
    manager.dialog_data[_PAGE] = 0


async def _on_prev(_event: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    manager.dialog_data[_PAGE] = max(0, _index(manager) - 1)


async def _on_next(_event: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    if len(_cursors(manager)) > _index(manager) + 1:
        manager.dialog_data[_PAGE] = _index(manager) + 1


def cursor_pager() -> Row:
    """◀️ / ▶️, each shown only where there is a page to go to."""
    return Row(
        Button(Const("◀️"), id="page_prev", on_click=_on_prev, when="has_prev"),
        Button(Const("▶️"), id="page_next", on_click=_on_next, when="has_next"),
    )
