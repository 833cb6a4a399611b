"""Profile: what the shop knows about the shopper, their email for receipts, and how and when
they are notified (``profile_notifications``)."""

from __future__ import annotations

import html
from typing import Any

from aiogram.types import Message
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.input import ManagedTextInput, TextInput
from aiogram_dialog.widgets.kbd import Cancel, SwitchTo

from vitrina_bot.dialogs.profile_notifications import settings_buttons, settings_lines, windows
from vitrina_bot.dialogs.states import ProfileSG
from vitrina_bot.dialogs.widgets import T, sender_id
from vitrina_bot.i18n import Translator
from vitrina_common.services.notifications.preferences import NotificationPreferences
from vitrina_common.services.profile import EmailOutcome, Profiles


async def get_profile(
    dialog_manager: DialogManager,
    profiles: Profiles,
    notification_preferences: NotificationPreferences,
    **_: Any,
) -> dict[str, Any]:
    """Name, email (or a note that there is none), language and notification settings."""
    user_id = sender_id(dialog_manager)
    view = await profiles.view(user_id) if user_id is not None else None
    notifications = await notification_preferences.view(user_id) if user_id is not None else None
    translate: Translator = dialog_manager.middleware_data["t"]
    return {
        **settings_lines(notifications, translate),
        "name": html.escape((view.first_name if view else None) or "—"),
        # The address check is loose on purpose: "<b>&co@example.com" passes it.
        "email": html.escape(view.email) if view and view.email else translate("profile.no_email"),
        "language": translate(f"language.{view.language.value}") if view else "—",
    }


async def on_email(
    message: Message, _widget: ManagedTextInput[str], manager: DialogManager, text: str
) -> None:
    """Save the address, or say why not and stay on the prompt."""
    profiles: Profiles = manager.middleware_data["profiles"]
    translate: Translator = manager.middleware_data["t"]
    if message.from_user is None:
        return
    outcome = await profiles.set_email(message.from_user.id, text)
    await message.answer(translate(f"profile.email_{outcome.value}"))
    if outcome is EmailOutcome.SAVED:
        await manager.switch_to(ProfileSG.main)


dialog = Dialog(
    Window(
        T("profile.text"),
        SwitchTo(T("profile.set_email"), id="set_email", state=ProfileSG.email),
        settings_buttons(),
        Cancel(T("menu.back")),
        getter=get_profile,
        state=ProfileSG.main,
    ),
    Window(
        T("profile.email_prompt"),
        TextInput(id="email", on_success=on_email),
        SwitchTo(T("menu.back"), id="back", state=ProfileSG.main),
        state=ProfileSG.email,
    ),
    *windows,
)
