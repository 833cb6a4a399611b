"""/admin: the entry to every admin area."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import Message
from aiogram_dialog import Dialog, DialogManager, StartMode, Window
from aiogram_dialog.widgets.kbd import Cancel, Row, Start

from vitrina_bot.dialogs.admin import (
    broadcasts,
    categories,
    imports,
    products,
    reports,
    tickets,
    users,
)
from vitrina_bot.dialogs.widgets import T


class AdminMenuSG(StatesGroup):
    main = State()


dialog = Dialog(
    Window(
        T("admin.menu.title"),
        Row(
            Start(T("admin.menu.products"), id="products", state=products.ENTRY),
            Start(T("admin.menu.categories"), id="categories", state=categories.ENTRY),
        ),
        Row(
            Start(T("admin.menu.import"), id="import", state=imports.ENTRY),
            Start(T("admin.menu.users"), id="users", state=users.ENTRY),
        ),
        Row(
            Start(T("admin.menu.reports"), id="reports", state=reports.ENTRY),
            Start(T("admin.menu.tickets"), id="tickets", state=tickets.ENTRY),
            Start(T("admin.menu.broadcasts"), id="broadcasts", state=broadcasts.ENTRY),
        ),
        Cancel(T("admin.menu.close")),
        state=AdminMenuSG.main,
    ),
)

router = Router(name="admin-menu")
router.include_router(dialog)


@router.message(Command("admin"))
async def on_admin(message: Message, dialog_manager: DialogManager) -> None:
    """Open the admin menu as a fresh stack."""
    del message
    await dialog_manager.start(AdminMenuSG.main, mode=StartMode.RESET_STACK)
