"""Language: Russian or English, remembered per user."""

from __future__ import annotations

from aiogram.types import CallbackQuery
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.kbd import Button, Cancel, Row
from aiogram_dialog.widgets.text import Const

from vitrina_bot.dialogs.states import LanguageSG
from vitrina_bot.dialogs.widgets import T
from vitrina_bot.i18n import translator_for
from vitrina_common.db.models import Language
from vitrina_common.services.profile import Profiles


async def _choose(event: CallbackQuery, manager: DialogManager, language: Language) -> None:
    profiles: Profiles = manager.middleware_data["profiles"]
    await profiles.set_language(event.from_user.id, language)
    # Screens rendered for the rest of this update already speak the new language.
    manager.middleware_data["t"] = translate = translator_for(language)
    await event.answer(translate("language.changed"))
    await manager.done()


async def on_english(event: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    """Switch to English."""
    await _choose(event, manager, Language.EN)


async def on_russian(event: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    """Switch to Russian."""
    await _choose(event, manager, Language.RU)


dialog = Dialog(
    Window(
        T("language.prompt"),
        Row(
            # Each language's name in itself: the one way both readers find theirs.
            Button(Const("English"), id="en", on_click=on_english),
            Button(Const("Русский"), id="ru", on_click=on_russian),
        ),
        Cancel(T("menu.back")),
        state=LanguageSG.choose,
    ),
)
