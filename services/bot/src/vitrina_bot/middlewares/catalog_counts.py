"""Shoppers see an admin's catalog change at once, although product counts are shared.

The catalog's counts (categories screen, number of pages) are recounted at most every few
seconds (``CategoryCounts``). An admin who archives a product or moves a category up, then
looks at the shop, expects the change there: so after any update of an admin this process
handled, the counts are forgotten. Admins are few and their updates rare, so the recount
costs nothing noticeable; other replicas catch up within the counts' TTL.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, User

from vitrina_common.services.browse import CategoryCounts

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class CountAgainAfterAdmins(BaseMiddleware):
    """Forgets the shared counts once an admin's update was handled."""

    def __init__(self, counts: CategoryCounts, admin_ids: frozenset[int]) -> None:
        self._counts = counts
        self._admin_ids = admin_ids

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        try:
            return await handler(event, data)
        finally:
            sender: User | None = data.get("event_from_user")
            if sender is not None and sender.id in self._admin_ids:
                self._counts.forget()
