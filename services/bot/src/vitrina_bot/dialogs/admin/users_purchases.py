"""A user's purchases for the admin, and the purchase card with its Refund button.

The refund itself is ``vitrina_bot.refunds`` (the same as /refund). The card's buttons
only ask for it: a repeated confirm, or a Refund button forged on a refunded purchase
(aiogram-dialog runs a hidden button's handler too), is refused there, not here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from typing import Any

from aiogram.types import CallbackQuery
from aiogram_dialog import Dialog, DialogManager, StartMode, Window
from aiogram_dialog.widgets.kbd import Button, Cancel, SwitchTo
from aiogram_dialog.widgets.text import Format

from vitrina_bot.dialogs.admin.users_card import selected_user, shown_name
from vitrina_bot.dialogs.admin.users_states import AdminPurchaseSG, AdminUsersSG
from vitrina_bot.dialogs.start_data import start_id
from vitrina_bot.dialogs.widgets import PAGE_SIZE, T, current_page, paged_list, pages
from vitrina_bot.i18n import Translator
from vitrina_bot.refunds import RefundOutcome, StarRefunds, describe_refund
from vitrina_common.db.models import PurchaseStatus
from vitrina_common.ids import parse_id
from vitrina_common.services.admin_users import AdminUsers, HistoryItem, PurchaseCard

SCROLL = "user_purchases_scroll"
PURCHASE_KEY = "purchase_id"


def _when(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _label(item: HistoryItem) -> str:
    mark = "↩️ " if item.status is PurchaseStatus.REFUNDED else ""
    return f"{mark}#{item.purchase_id} · {item.title} · {item.price_stars} ⭐"


async def get_purchases(
    dialog_manager: DialogManager, admin_users: AdminUsers, **_: Any
) -> dict[str, Any]:
    """One page of the open user's purchases, refunded ones marked ↩️."""
    telegram_id = selected_user(dialog_manager)
    index = await current_page(dialog_manager, SCROLL)
    page = await admin_users.purchases(telegram_id, index * PAGE_SIZE, PAGE_SIZE)
    card = await admin_users.card(telegram_id)
    return {
        "name": shown_name(card.first_name if card else None),
        "purchases": [(item.purchase_id, _label(item)) for item in page.items],
        "count": page.total,
        "pages": pages(page.total),
        "page": index + 1,
    }


async def on_purchase(
    _event: CallbackQuery, _widget: Any, manager: DialogManager, purchase_id: str
) -> None:
    """Open the purchase card."""
    if (parsed := parse_id(purchase_id)) is not None:
        await manager.start(
            AdminPurchaseSG.card, data={PURCHASE_KEY: parsed}, mode=StartMode.NORMAL
        )


purchases_window = Window(
    T("admin.users.purchases_title", when="count"),
    T("admin.users.no_purchases", when=lambda data, *_: not data["count"]),
    *paged_list(SCROLL, "user_purchase", "purchases", "{item[1]}", on_purchase),
    SwitchTo(T("admin.users.back_to_card"), id="purchases_back", state=AdminUsersSG.card),
    getter=get_purchases,
    state=AdminUsersSG.purchases,
)


def _purchase_id(manager: DialogManager) -> int:
    return start_id(manager, PURCHASE_KEY)


async def get_purchase(
    dialog_manager: DialogManager, admin_users: AdminUsers, **_: Any
) -> dict[str, Any]:
    """The purchase card's values; ``refundable`` only while it is paid."""
    translate: Translator = dialog_manager.middleware_data["t"]
    purchase = await admin_users.purchase(_purchase_id(dialog_manager))
    if purchase is None:
        return {"found": False, "refundable": False}
    username = f" @{escape(purchase.buyer_username)}" if purchase.buyer_username else ""
    return {
        "found": True,
        "refundable": purchase.status is PurchaseStatus.PAID,
        "id": purchase.purchase_id,
        "title": escape(purchase.title),
        "product_id": purchase.product_id,
        "price": purchase.price_stars,
        "date": _when(purchase.purchased_at),
        "buyer": shown_name(purchase.buyer_first_name) + username,
        "buyer_id": purchase.buyer_telegram_id,
        "charge_id": escape(purchase.charge_id),
        "status": _status(purchase, translate),
    }


def _status(purchase: PurchaseCard, translate: Translator) -> str:
    if purchase.status is PurchaseStatus.REFUNDED:
        refunded_at = purchase.refunded_at or purchase.purchased_at
        return translate("admin.users.status_refunded", date=_when(refunded_at))
    return translate("admin.users.status_paid")


async def on_refund(event: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    """Refund (Telegram first, then the record, then the buyer told); show the card again."""
    refunds: StarRefunds = manager.middleware_data["star_refunds"]
    translate: Translator = manager.middleware_data["t"]
    result = await refunds.refund(_purchase_id(manager))
    await event.answer(
        describe_refund(result, translate), show_alert=result.outcome is RefundOutcome.FAILED
    )
    await manager.switch_to(AdminPurchaseSG.card)


purchase_dialog = Dialog(
    Window(
        T("admin.users.purchase_card", when="found"),
        Format("{status}", when="found"),
        T("admin.users.purchase_gone", when=lambda data, *_: not data["found"]),
        SwitchTo(
            T("admin.users.refund"),
            id="refund",
            state=AdminPurchaseSG.confirm_refund,
            when="refundable",
        ),
        Cancel(T("admin.menu.back")),
        getter=get_purchase,
        state=AdminPurchaseSG.card,
    ),
    Window(
        T("admin.users.refund_confirm", when="refundable"),
        # Refunded meanwhile (by another admin, or /refund): say so instead of asking.
        Format("{status}", when=lambda data, *_: data["found"] and not data["refundable"]),
        T("admin.users.purchase_gone", when=lambda data, *_: not data["found"]),
        Button(T("admin.users.refund_yes"), id="refund_yes", on_click=on_refund, when="refundable"),
        SwitchTo(T("admin.users.refund_no"), id="refund_no", state=AdminPurchaseSG.card),
        getter=get_purchase,
        state=AdminPurchaseSG.confirm_refund,
    ),
)
