"""Admin area: reports (placeholder screen until the area is built)."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup
from aiogram_dialog import Dialog, Window
from aiogram_dialog.widgets.kbd import Cancel

from vitrina_bot.dialogs.widgets import T


class AdminReportsSG(StatesGroup):
    main = State()


ENTRY = AdminReportsSG.main

dialogs = (
    Dialog(
        Window(T("admin.menu.reports"), Cancel(T("admin.menu.back")), state=AdminReportsSG.main),
    ),
)
