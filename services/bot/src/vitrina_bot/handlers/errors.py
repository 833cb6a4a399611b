"""Errors that reach the dispatcher: outdated dialog buttons, users who blocked the bot."""

from __future__ import annotations

from aiogram import Router
from aiogram.exceptions import TelegramForbiddenError
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import ErrorEvent
from aiogram_dialog import DialogManager, StartMode
from aiogram_dialog.api.exceptions import OutdatedIntent, UnknownIntent, UnknownState

from vitrina_bot.dialogs.states import MainMenu
from vitrina_bot.i18n import Translator
from vitrina_common.logging import get_logger
from vitrina_common.services.profile import Profiles

router = Router(name="errors")
log = get_logger(__name__)


@router.error(ExceptionTypeFilter(UnknownIntent, UnknownState, OutdatedIntent))
async def on_outdated_dialog(
    event: ErrorEvent, dialog_manager: DialogManager, t: Translator
) -> None:
    """A button from an old (or forged) menu: say so and open a fresh menu."""
    query = event.update.callback_query
    if query is not None:
        await query.answer(t("errors.outdated"))
    await dialog_manager.start(MainMenu.main, mode=StartMode.RESET_STACK)


@router.error(ExceptionTypeFilter(TelegramForbiddenError))
async def on_blocked(event: ErrorEvent, profiles: Profiles) -> None:
    """Telegram said 403: the user blocked the bot; stop messaging them."""
    sender = _sender(event)
    if sender is not None:
        await profiles.mark_blocked(sender)
        log.info("user blocked the bot", user=sender)


def _sender(event: ErrorEvent) -> int | None:
    update = event.update
    for item in (update.message, update.callback_query, update.pre_checkout_query):
        if item is not None and item.from_user is not None:
            return item.from_user.id
    return None
