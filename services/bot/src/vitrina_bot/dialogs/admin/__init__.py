"""The shop admin's screens (``/admin``), one module per area.

Every admin dialog is included in one router whose message and callback filters pass the
shop admins only: for anyone else the router does not exist, so an admin command or a
forged admin button falls through to the handlers every shopper sees (the menu, or "menu
out of date"), exactly as if it were unknown.
"""

from aiogram import Router

from vitrina_bot.dialogs.admin import (
    broadcasts,
    categories,
    imports,
    menu,
    products,
    reports,
    tickets,
    users,
)
from vitrina_bot.filters import IsAdmin


def build_admin_router() -> Router:
    """The admin menu and every area's dialogs, behind the admin filter."""
    router = Router(name="admin")
    router.message.filter(IsAdmin())
    router.callback_query.filter(IsAdmin())
    router.include_router(menu.router)
    for area in (products, categories, users, imports, reports, tickets, broadcasts):
        router.include_routers(*area.dialogs)
    return router
