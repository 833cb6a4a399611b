"""Admin area: categories (placeholder screen until the area is built)."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup
from aiogram_dialog import Dialog, Window
from aiogram_dialog.widgets.kbd import Cancel

from vitrina_bot.dialogs.widgets import T


class AdminCategoriesSG(StatesGroup):
    main = State()


ENTRY = AdminCategoriesSG.main

dialogs = (
    Dialog(
        Window(
            T("admin.menu.categories"), Cancel(T("admin.menu.back")), state=AdminCategoriesSG.main
        ),
    ),
)
