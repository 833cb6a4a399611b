"""aiogram-dialog screens, one Dialog per module; states live in ``states.py``."""

from aiogram import Router

from vitrina_bot.dialogs import (
    catalog,
    language,
    main_menu,
    product,
    profile,
    purchases,
    search,
    tickets,
    wishlist,
)


def build_dialogs_router() -> Router:
    """Every dialog, included in one router."""
    router = Router(name="dialogs")
    router.include_routers(
        main_menu.dialog,
        catalog.dialog,
        search.dialog,
        product.dialog,
        purchases.dialog,
        profile.dialog,
        language.dialog,
        tickets.dialog,
        wishlist.dialog,
    )
    return router
