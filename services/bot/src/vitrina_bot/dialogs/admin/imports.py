"""Admin area: imports (placeholder screen until the area is built)."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup
from aiogram_dialog import Dialog, Window
from aiogram_dialog.widgets.kbd import Cancel

from vitrina_bot.dialogs.widgets import T


class AdminImportsSG(StatesGroup):
    main = State()


ENTRY = AdminImportsSG.main

dialogs = (
    Dialog(
        Window(T("admin.menu.import"), Cancel(T("admin.menu.back")), state=AdminImportsSG.main),
    ),
)
