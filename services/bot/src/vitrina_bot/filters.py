"""Filters shared by routers."""

from __future__ import annotations

from typing import Any

from aiogram.filters import Filter
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, Message
from aiogram_dialog.api.entities import Context
from aiogram_dialog.api.internal import CONTEXT_KEY


class IsAdmin(Filter):
    """Passes updates from the shop admins (``APP_CONF__BOT__ADMIN_IDS``) only.

    Non-admins simply match nothing here, so admin features look to them like they do not
    exist rather than like a locked door.
    """

    async def __call__(self, event: Message | CallbackQuery, admin_ids: frozenset[int]) -> bool:
        return event.from_user is not None and event.from_user.id in admin_ids


class DialogAt(Filter):
    """Passes updates whose chat's open dialog is at ``state`` (one window, where
    aiogram-dialog's ``IntentFilter`` matches a whole dialog)."""

    def __init__(self, state: State) -> None:
        self._state = state

    async def __call__(self, _event: Message | CallbackQuery, **data: Any) -> bool:
        context: Context | None = data.get(CONTEXT_KEY)
        return context is not None and context.state == self._state
