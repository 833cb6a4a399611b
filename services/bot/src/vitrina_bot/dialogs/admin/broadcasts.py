"""Admin area: compose a broadcast (text with formatting, an optional photo or document,
optional link or product buttons), pick its audience, see how many it reaches, preview it exactly as
recipients will, then send it now or schedule it; pause, resume or cancel it while it runs.
Sending is the worker's (``vitrina_common.services.broadcasts``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from aiogram import Bot, html
from aiogram.methods import SendDocument, SendMessage, SendPhoto
from aiogram.types import CallbackQuery, Message
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.input import ManagedTextInput, MessageInput, TextInput
from aiogram_dialog.widgets.kbd import Button, Cancel, Column, Row, Select, SwitchTo
from aiogram_dialog.widgets.text import Format

from vitrina_bot.dialogs.admin.broadcasts_states import AdminBroadcastsSG
from vitrina_bot.dialogs.widgets import T, id_item
from vitrina_bot.i18n import Translator
from vitrina_common.db.models import Language
from vitrina_common.sending import Button as LinkButton
from vitrina_common.sending import OutgoingMessage, product_button
from vitrina_common.services.admin_categories import AdminCategories
from vitrina_common.services.broadcasts import Audience, ComposeBroadcasts, ControlBroadcasts
from vitrina_common.services.browse import Browse

ENTRY = AdminBroadcastsSG.compose
_REQUESTS: dict[str, type[SendMessage] | type[SendPhoto] | type[SendDocument]] = {
    "sendMessage": SendMessage,
    "sendPhoto": SendPhoto,
    "sendDocument": SendDocument,
}
# Audience buttons: id -> the filter it sets.
_AUDIENCES: dict[str, Audience] = {
    "all": Audience(),
    "en": Audience(language=Language.EN),
    "ru": Audience(language=Language.RU),
    "active7": Audience(active_days=7),
    "active30": Audience(active_days=30),
}


def _message(manager: DialogManager) -> OutgoingMessage:
    return OutgoingMessage.model_validate(manager.dialog_data["message"])


def _audience(manager: DialogManager) -> Audience:
    return Audience.model_validate(manager.dialog_data.get("audience", {}))


async def on_content(message: Message, widget: MessageInput, manager: DialogManager) -> None:
    """The admin's message becomes the broadcast: its HTML text or caption, and its photo or
    document by file_id (sent again by id, never re-uploaded)."""
    del widget
    photo = message.photo[-1].file_id if message.photo else None
    document = message.document.file_id if message.document else None
    text = message.html_text if (message.text or message.caption) else ""
    if not text:
        return
    manager.dialog_data["message"] = OutgoingMessage(
        text=text, photo=photo, document=document
    ).model_dump(mode="json")
    await manager.switch_to(AdminBroadcastsSG.buttons)


async def on_buttons(
    message: Message, widget: ManagedTextInput[str], manager: DialogManager, lines: str
) -> None:
    """One button per line: ``Label | https://…`` (a link) or ``Label | #42`` (opens the
    card of product 42, which must be on sale). Lines that are neither are listed back to
    the admin, who can send the buttons again."""
    del widget
    browse: Browse = manager.middleware_data["browse"]
    rows: list[list[LinkButton]] = []
    skipped: list[str] = []
    for line in filter(None, (line.strip() for line in lines.splitlines())):
        label, _, target = (part.strip() for part in line.partition("|"))
        product_id = int(target[1:]) if re.fullmatch(r"#\d{1,18}", target) else None
        if label and target.startswith(("https://", "http://", "tg://")):
            rows.append([LinkButton(text=label[:64], url=target)])
        elif label and product_id is not None and await browse.card(product_id) is not None:
            rows.append([product_button(label, product_id)])
        else:
            skipped.append(line)
    if skipped:
        translate: Translator = manager.middleware_data["t"]
        await message.answer(
            translate("admin.broadcasts.buttons_skipped", lines=html.quote("\n".join(skipped)))
        )
        return
    content = _message(manager).model_copy(update={"buttons": rows})
    manager.dialog_data["message"] = content.model_dump(mode="json")
    await manager.switch_to(AdminBroadcastsSG.audience)


async def on_audience(callback: CallbackQuery, button: Button, manager: DialogManager) -> None:
    del callback
    manager.dialog_data["audience"] = _AUDIENCES[button.widget_id or "all"].model_dump(mode="json")
    await manager.switch_to(AdminBroadcastsSG.confirm)


async def on_category_filter(
    callback: CallbackQuery, button: Button, manager: DialogManager
) -> None:
    """Buyers or followers of a category: which one the category picker sets."""
    del callback
    manager.dialog_data["category_filter"] = button.widget_id
    await manager.switch_to(AdminBroadcastsSG.category)


async def on_category(
    callback: CallbackQuery, widget: Any, manager: DialogManager, category_id: str
) -> None:
    del callback, widget
    if manager.dialog_data.get("category_filter") == "followers":
        audience = Audience(followers_of_category=id_item(category_id))
    else:
        audience = Audience(buyers_of_category=id_item(category_id))
    manager.dialog_data["audience"] = audience.model_dump(mode="json")
    await manager.switch_to(AdminBroadcastsSG.confirm)


async def get_categories(
    dialog_manager: DialogManager, admin_categories: AdminCategories, **_: Any
) -> dict[str, Any]:
    lines = await admin_categories.lines()
    followers = dialog_manager.dialog_data.get("category_filter") == "followers"
    return {
        "categories": [(line.id, line.title) for line in lines],
        "followers": followers,
        "buyers": not followers,
    }


async def get_confirm(
    dialog_manager: DialogManager, compose_broadcasts: ComposeBroadcasts, **_: Any
) -> dict[str, Any]:
    """How many the audience reaches now."""
    return {"count": await compose_broadcasts.count(_audience(dialog_manager))}


async def get_started(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    """The broadcast just started or scheduled, and what the last button made of it."""
    data = dialog_manager.dialog_data
    translate = dialog_manager.middleware_data["t"]
    return {
        "id": data.get("broadcast_id", 0),
        "total": data.get("total", 0),
        "send_at": data.get("send_at", ""),
        "state": translate(f"admin.broadcasts.state.{data.get('state', 'sending')}"),
    }


async def on_preview(callback: CallbackQuery, button: Button, manager: DialogManager) -> None:
    """Send the broadcast to the admin alone: the very call each recipient gets."""
    del button
    bot: Bot = manager.middleware_data["bot"]
    method, params = _message(manager).bot_api_call(callback.from_user.id)
    await bot(_REQUESTS[method].model_validate(params))


async def on_send_now(callback: CallbackQuery, button: Button, manager: DialogManager) -> None:
    del button
    compose: ComposeBroadcasts = manager.middleware_data["compose_broadcasts"]
    broadcast_id, total = await compose.start(
        _message(manager), _audience(manager), callback.from_user.id
    )
    manager.dialog_data.update(broadcast_id=broadcast_id, total=total)
    await manager.switch_to(AdminBroadcastsSG.control)


async def on_schedule(callback: CallbackQuery, button: Button, manager: DialogManager) -> None:
    hours = {"in1h": 1, "in24h": 24}[button.widget_id or "in1h"]
    compose: ComposeBroadcasts = manager.middleware_data["compose_broadcasts"]
    send_at = datetime.now(UTC) + timedelta(hours=hours)
    broadcast_id = await compose.schedule(
        _message(manager), _audience(manager), callback.from_user.id, send_at
    )
    manager.dialog_data.update(broadcast_id=broadcast_id, send_at=f"{send_at:%Y-%m-%d %H:%M} UTC")
    await manager.switch_to(AdminBroadcastsSG.scheduled)


async def on_control(callback: CallbackQuery, button: Button, manager: DialogManager) -> None:
    """Pause, resume or cancel; the screen says what the broadcast is now."""
    del callback
    control: ControlBroadcasts = manager.middleware_data["control_broadcasts"]
    broadcast_id = int(manager.dialog_data["broadcast_id"])
    action = {"pause": control.pause, "resume": control.resume, "cancel": control.cancel}
    done = {"pause": "paused", "resume": "sending", "cancel": "cancelled"}
    if await action[button.widget_id or "pause"](broadcast_id):
        manager.dialog_data["state"] = done[button.widget_id or "pause"]


_BACK = SwitchTo(T("admin.menu.back"), id="back", state=AdminBroadcastsSG.compose)

dialog = Dialog(
    Window(
        T("admin.broadcasts.compose"),
        MessageInput(on_content),
        Cancel(T("admin.menu.back")),
        state=AdminBroadcastsSG.compose,
    ),
    Window(
        T("admin.broadcasts.buttons"),
        TextInput("buttons", on_success=on_buttons),
        SwitchTo(T("admin.broadcasts.no_buttons"), id="skip", state=AdminBroadcastsSG.audience),
        _BACK,
        state=AdminBroadcastsSG.buttons,
    ),
    Window(
        T("admin.broadcasts.audience"),
        *(
            Button(T(f"admin.broadcasts.to.{key}"), id=key, on_click=on_audience)
            for key in _AUDIENCES
        ),
        Button(T("admin.broadcasts.to.buyers"), id="buyers", on_click=on_category_filter),
        Button(T("admin.broadcasts.to.followers"), id="followers", on_click=on_category_filter),
        _BACK,
        state=AdminBroadcastsSG.audience,
    ),
    Window(
        T("admin.broadcasts.category", when="buyers"),
        T("admin.broadcasts.followers_category", when="followers"),
        Column(
            Select(
                Format("{item[1]}"),
                id="category",
                item_id_getter=lambda item: item[0],
                items="categories",
                on_click=on_category,
            )
        ),
        _BACK,
        state=AdminBroadcastsSG.category,
        getter=get_categories,
    ),
    Window(
        T("admin.broadcasts.confirm"),
        Button(T("admin.broadcasts.preview"), id="preview", on_click=on_preview),
        Button(T("admin.broadcasts.send_now"), id="send", on_click=on_send_now),
        Row(
            Button(T("admin.broadcasts.in1h"), id="in1h", on_click=on_schedule),
            Button(T("admin.broadcasts.in24h"), id="in24h", on_click=on_schedule),
        ),
        _BACK,
        state=AdminBroadcastsSG.confirm,
        getter=get_confirm,
    ),
    Window(
        T("admin.broadcasts.started"),
        Row(
            Button(T("admin.broadcasts.pause"), id="pause", on_click=on_control),
            Button(T("admin.broadcasts.resume"), id="resume", on_click=on_control),
        ),
        Button(T("admin.broadcasts.cancel"), id="cancel", on_click=on_control),
        Cancel(T("admin.menu.close")),
        state=AdminBroadcastsSG.control,
        getter=get_started,
    ),
    Window(
        T("admin.broadcasts.scheduled"),
        Button(T("admin.broadcasts.cancel"), id="cancel", on_click=on_control),
        Cancel(T("admin.menu.close")),
        state=AdminBroadcastsSG.scheduled,
        getter=get_started,
    ),
)

dialogs = (dialog,)
