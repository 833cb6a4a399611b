"""The profile's notification settings: time zone (from a short list or a shared location),
quiet hours, the digest's hour, and the followed categories. Windows of the profile dialog;
each handler calls one use case of ``NotificationPreferences`` or ``CategoryFollows``."""

from __future__ import annotations

import html
from typing import Any

from aiogram.enums import ContentType
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, Message
from aiogram_dialog import DialogManager, Window
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Column, Group, RequestLocation, Select, SwitchTo
from aiogram_dialog.widgets.markup.reply_keyboard import ReplyKeyboardFactory
from aiogram_dialog.widgets.text import Format

from vitrina_bot.dialogs.states import ProfileSG
from vitrina_bot.dialogs.widgets import T, id_item, sender_id
from vitrina_bot.i18n import Translator
from vitrina_common.services.notifications.preferences import (
    HOURS,
    CategoryFollows,
    NotificationPreferences,
    NotificationSettings,
)
from vitrina_common.services.notifications.zones import COMMON_ZONES

HOURS_PER_ROW = 6


def hour_item(text: str) -> int:
    """A button's hour; -1 (refused by the settings) for a forged one."""
    return _HOURS_BY_TEXT.get(text, -1)


_HOURS_BY_TEXT = {str(hour): hour for hour in HOURS}


def hour_label(hour: int) -> str:
    """``9`` as ``09:00``."""
    return f"{hour:02d}:00"


def settings_lines(settings: NotificationSettings | None, translate: Translator) -> dict[str, str]:
    """The profile screen's lines about notifications (HTML-escaped)."""
    if settings is None:
        return dict.fromkeys(("time_zone", "quiet", "digest_hour", "followed"), "—")
    return {
        "time_zone": html.escape(settings.time_zone),
        "quiet": quiet_label(settings.quiet_from_hour, settings.quiet_to_hour, translate),
        "digest_hour": hour_label(settings.digest_hour),
        "followed": html.escape(", ".join(title for _, title in settings.followed))
        or translate("notify_settings.nothing_followed"),
    }


def quiet_label(from_hour: int, to_hour: int, translate: Translator) -> str:
    """``22:00–09:00``, or none when the hours are equal."""
    if from_hour == to_hour:
        return translate("notify_settings.no_quiet_hours")
    return f"{hour_label(from_hour)}–{hour_label(to_hour)}"


def _services(manager: DialogManager) -> tuple[NotificationPreferences, Translator]:
    return manager.middleware_data["notification_preferences"], manager.middleware_data["t"]


async def on_zone(event: CallbackQuery, _widget: Any, manager: DialogManager, zone: str) -> None:
    """Store a zone from the list."""
    preferences, translate = _services(manager)
    if await preferences.set_time_zone(event.from_user.id, zone):
        await event.answer(translate("notify_settings.zone_saved", zone=zone))
    await manager.switch_to(ProfileSG.main)


async def on_location(message: Message, _widget: MessageInput, manager: DialogManager) -> None:
    """Store the zone of a shared location, or say none was found and offer the list."""
    preferences, translate = _services(manager)
    if message.from_user is None or message.location is None:
        return
    zone = await preferences.set_time_zone_at(
        message.from_user.id, message.location.latitude, message.location.longitude
    )
    if zone is None:
        await message.answer(translate("notify_settings.zone_not_found"))
        await manager.switch_to(ProfileSG.time_zone)
        return
    await message.answer(translate("notify_settings.zone_saved", zone=html.escape(zone)))
    await manager.switch_to(ProfileSG.main)


async def on_quiet_from(
    _event: CallbackQuery, _widget: Any, manager: DialogManager, hour: int
) -> None:
    """Remember where quiet hours start; ask where they end."""
    if hour not in HOURS:  # a forged button
        return
    manager.dialog_data["quiet_from"] = hour
    await manager.switch_to(ProfileSG.quiet_to)


async def on_quiet_to(
    event: CallbackQuery, _widget: Any, manager: DialogManager, hour: int
) -> None:
    """Store the quiet hours."""
    preferences, translate = _services(manager)
    from_hour = int(manager.dialog_data.get("quiet_from", hour))
    if await preferences.set_quiet_hours(event.from_user.id, from_hour, hour):
        await event.answer(
            translate("notify_settings.quiet_saved", quiet=quiet_label(from_hour, hour, translate))
        )
    await manager.switch_to(ProfileSG.main)


async def on_digest_hour(
    event: CallbackQuery, _widget: Any, manager: DialogManager, hour: int
) -> None:
    """Store the digest's hour."""
    preferences, translate = _services(manager)
    if await preferences.set_digest_hour(event.from_user.id, hour):
        await event.answer(translate("notify_settings.digest_saved", hour=hour_label(hour)))
    await manager.switch_to(ProfileSG.main)


async def on_unfollow(
    event: CallbackQuery, _widget: Any, manager: DialogManager, category_id: int
) -> None:
    """Unfollow a category from the list; stay on the list."""
    follows: CategoryFollows = manager.middleware_data["category_follows"]
    translate: Translator = manager.middleware_data["t"]
    await follows.unfollow(event.from_user.id, category_id)
    await event.answer(translate("catalog.unfollowed"))


async def get_hours(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    """Every hour of the day, and the start of the quiet hours being chosen."""
    from_hour = int(dialog_manager.dialog_data.get("quiet_from", 0))
    return {
        "hours": [(hour, hour_label(hour)) for hour in HOURS],
        "from_hour": hour_label(from_hour),
    }


async def get_followed(
    dialog_manager: DialogManager, notification_preferences: NotificationPreferences, **_: Any
) -> dict[str, Any]:
    """The followed categories, (id, title)."""
    user_id = sender_id(dialog_manager)
    settings = await notification_preferences.view(user_id) if user_id is not None else None
    followed = settings.followed if settings is not None else []
    return {"followed": followed, "nothing": not followed}


def _hour_window(prompt: str, widget_id: str, on_click: Any, state: State) -> Window:
    """A prompt over the 24 hours, one of which ``on_click`` takes."""
    return Window(
        T(prompt),
        Group(
            Select(
                Format("{item[1]}"),
                id=widget_id,
                item_id_getter=lambda item: item[0],
                items="hours",
                type_factory=hour_item,
                on_click=on_click,
            ),
            width=HOURS_PER_ROW,
        ),
        _back(),
        getter=get_hours,
        state=state,
    )


def _back() -> SwitchTo:
    return SwitchTo(T("menu.back"), id="to_profile", state=ProfileSG.main)


def settings_buttons() -> Group:
    """The profile's buttons into these windows."""
    return Group(
        SwitchTo(T("notify_settings.time_zone"), id="time_zone", state=ProfileSG.time_zone),
        SwitchTo(T("notify_settings.quiet_hours"), id="quiet", state=ProfileSG.quiet_from),
        SwitchTo(T("notify_settings.digest_hour"), id="digest", state=ProfileSG.digest_hour),
        SwitchTo(T("notify_settings.followed"), id="followed", state=ProfileSG.followed),
        width=2,
    )


windows = (
    Window(
        T("notify_settings.zone_prompt"),
        Group(
            Select(
                Format("{item}"),
                id="zone",
                item_id_getter=lambda zone: zone,
                items=COMMON_ZONES,
                on_click=on_zone,
            ),
            width=2,
        ),
        SwitchTo(T("notify_settings.share_location"), id="by_location", state=ProfileSG.location),
        _back(),
        state=ProfileSG.time_zone,
    ),
    Window(
        T("notify_settings.location_prompt"),
        RequestLocation(T("notify_settings.send_location")),
        SwitchTo(T("menu.back"), id="location_back", state=ProfileSG.time_zone),
        MessageInput(on_location, content_types=[ContentType.LOCATION]),
        markup_factory=ReplyKeyboardFactory(resize_keyboard=True, one_time_keyboard=True),
        state=ProfileSG.location,
    ),
    _hour_window(
        "notify_settings.quiet_from_prompt", "quiet_from", on_quiet_from, ProfileSG.quiet_from
    ),
    _hour_window("notify_settings.quiet_to_prompt", "quiet_to", on_quiet_to, ProfileSG.quiet_to),
    _hour_window(
        "notify_settings.digest_prompt", "digest_hour", on_digest_hour, ProfileSG.digest_hour
    ),
    Window(
        T("notify_settings.followed_prompt", when="followed"),
        T("notify_settings.followed_empty", when="nothing"),
        Column(
            Select(
                Format("🔕 {item[1]}"),
                id="unfollow",
                item_id_getter=lambda item: item[0],
                items="followed",
                type_factory=id_item,
                on_click=on_unfollow,
            )
        ),
        _back(),
        getter=get_followed,
        state=ProfileSG.followed,
    ),
)
