"""Filters shared by routers."""

from __future__ import annotations

from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message


class IsAdmin(Filter):
    """Passes updates from the shop admins (``APP_CONF__BOT__ADMIN_IDS``) only.

    Non-admins simply match nothing here, so admin features look to them like they do not
    exist rather than like a locked door.
    """

    async def __call__(self, event: Message | CallbackQuery, admin_ids: frozenset[int]) -> bool:
        return event.from_user is not None and event.from_user.id in admin_ids
