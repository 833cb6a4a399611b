"""The product card's wishlist ♡ and limited-edition lines: "7 of 50 left", "Join the
waitlist" / "Leave", "you are 3rd", a copy reserved for this shopper."""

from __future__ import annotations

from typing import Any

from aiogram.types import CallbackQuery
from aiogram_dialog import DialogManager
from aiogram_dialog.widgets.kbd import Button, Row

from vitrina_bot.dialogs.start_data import start_id
from vitrina_bot.dialogs.widgets import T
from vitrina_bot.i18n import Translator
from vitrina_bot.i18n.ordinals import ordinal
from vitrina_common.services.waitlist.shopper import Waitlist, WaitlistRefusal
from vitrina_common.services.wishlist import Wishlist

_NOT_LIMITED = {
    "limited": False,
    "copies_left": True,
    "can_join": False,
    "in_line": False,
    "has_offer": False,
}


async def edition_data(
    manager: DialogManager, product_id: int, user_id: int, owned: bool, *, limited: bool
) -> dict[str, Any]:
    """What the card shows of the wishlist and the edition for this shopper; the edition's
    copies and the line are read only for a limited edition (``limited``)."""
    data = manager.middleware_data
    translate: Translator = data["t"]
    waitlist: Waitlist = data["waitlist"]
    wishlist: Wishlist = data["wishlist"]
    wished = await wishlist.contains(user_id, product_id)
    status = await waitlist.status(user_id, product_id) if limited else None
    if status is None:
        return {**_NOT_LIMITED, "wished": wished}
    waiting = status.position is not None
    return {
        "wished": wished,
        "limited": True,
        "left": status.left,
        "size": status.size,
        "copies_left": status.left > 0,
        "can_join": not owned and status.left == 0 and not waiting,
        "in_line": waiting,
        "ordinal": ordinal(translate.language, status.position or 0),
        "has_offer": status.offer_id is not None,
        "until": status.offer_expires_at.strftime("%Y-%m-%d %H:%M")
        if status.offer_expires_at is not None
        else "",
    }


def _product_id(manager: DialogManager) -> int:
    return start_id(manager, "product_id")


async def on_wish(event: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    """♡: add the product to the wishlist, or take it out."""
    translate: Translator = manager.middleware_data["t"]
    wishlist: Wishlist = manager.middleware_data["wishlist"]
    wished = await wishlist.toggle(event.from_user.id, _product_id(manager))
    key = {True: "added", False: "removed", None: "unavailable"}[wished]
    await event.answer(translate(f"product.wish.{key}"))


async def on_join(event: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    """Queue for the sold-out edition and say where the shopper stands."""
    translate: Translator = manager.middleware_data["t"]
    waitlist: Waitlist = manager.middleware_data["waitlist"]
    joined = await waitlist.join(event.from_user.id, _product_id(manager))
    if isinstance(joined, WaitlistRefusal):
        await event.answer(translate(f"waitlist.refused.{joined.value}"), show_alert=True)
        return
    text = translate("product.edition.joined", ordinal=ordinal(translate.language, joined))
    await event.answer(text, show_alert=True)


async def on_leave(event: CallbackQuery, button: Button, manager: DialogManager) -> None:
    """Leave the line, or give up a reserved copy (it goes to the next in line)."""
    translate: Translator = manager.middleware_data["t"]
    waitlist: Waitlist = manager.middleware_data["waitlist"]
    changed = await waitlist.leave(event.from_user.id, _product_id(manager))
    done = "declined" if button.widget_id == "decline" else "left_line"
    await event.answer(translate(f"product.edition.{done if changed else 'not_in_line'}"))


edition_lines = (
    T("product.edition.left", when=lambda data, *_: data["limited"] and data["copies_left"]),
    T(
        "product.edition.sold_out",
        when=lambda data, *_: data["limited"] and not data["copies_left"],
    ),
    T("product.edition.position", when="in_line"),
    T("product.edition.reserved", when="has_offer"),
)


def edition_buttons() -> Row:
    """♡ and the waitlist buttons, each shown only where it applies."""
    return Row(
        Button(
            T("product.wish.add"), id="wish", on_click=on_wish, when=lambda d, *_: not d["wished"]
        ),
        Button(T("product.wish.remove"), id="unwish", on_click=on_wish, when="wished"),
        Button(T("product.edition.join"), id="join", on_click=on_join, when="can_join"),
        Button(T("product.edition.leave"), id="leave", on_click=on_leave, when="in_line"),
        Button(T("product.edition.decline"), id="decline", on_click=on_leave, when="has_offer"),
        when="found",
    )
