"""The main menu: catalog, search, purchases, profile, language, help (and from help,
the shopper's support tickets)."""

from __future__ import annotations

import html
from typing import Any

from aiogram_dialog import Dialog, Window
from aiogram_dialog.widgets.kbd import Row, Start, SwitchTo

from vitrina_bot.dialogs.states import (
    CatalogSG,
    LanguageSG,
    MainMenu,
    ProfileSG,
    PurchasesSG,
    SearchSG,
    TicketsSG,
    WishlistSG,
)
from vitrina_bot.dialogs.widgets import T


def shop_texts(shop_name: str, support_contact: str) -> dict[str, str]:
    """The shop's name and support contact as the HTML texts quote them: settings an
    operator types ("Tom & Co", "<support@example.com>"), so escaped."""
    return {"shop": html.escape(shop_name), "support": html.escape(support_contact)}


async def get_shop(shop_name: str, support_contact: str, **_: Any) -> dict[str, Any]:
    """The shop's name and support contact for the texts."""
    return shop_texts(shop_name, support_contact)


dialog = Dialog(
    Window(
        T("menu.greeting"),
        Row(
            Start(T("menu.catalog"), id="catalog", state=CatalogSG.categories),
            Start(T("menu.search"), id="search", state=SearchSG.query),
        ),
        Row(
            Start(T("menu.purchases"), id="purchases", state=PurchasesSG.listing),
            Start(T("menu.profile"), id="profile", state=ProfileSG.main),
        ),
        Row(
            Start(T("wishlist.menu"), id="wishlist", state=WishlistSG.listing),
            Start(T("menu.language"), id="language", state=LanguageSG.choose),
        ),
        SwitchTo(T("menu.help"), id="help", state=MainMenu.help),
        getter=get_shop,
        state=MainMenu.main,
    ),
    Window(
        T("help.text"),
        Row(
            Start(T("tickets.write"), id="write_support", state=TicketsSG.new),
            Start(T("tickets.my"), id="my_tickets", state=TicketsSG.listing),
        ),
        SwitchTo(T("menu.back"), id="back", state=MainMenu.main),
        getter=get_shop,
        state=MainMenu.help,
    ),
)
