"""Showing an import's progress: one message per import, edited in place with a text
progress bar, then replaced by the summary.

The bot polls the imports' rows rather than consuming an event per row: the counters in
the database are exact (each moves in the transaction that settles a row), a poll shows
the newest numbers however many rows finished since, and one edit per import per
interval is all Telegram's edit limits allow anyway. An edit happens only when the count
moved (``claim_progress``), so several bot replicas do not edit the same change twice,
and a restarted bot picks every running import up again from the table.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
)

from vitrina_bot.i18n import Translator, translator_for_chat
from vitrina_common.cancellation import checked_sleep, raise_if_cancelled
from vitrina_common.db.models import ImportStatus
from vitrina_common.logging import get_logger
from vitrina_common.services.imports import ImportProgress, ImportView
from vitrina_common.services.profile import Profiles
from vitrina_common.text_limits import MAX_SHOWN_REASON_CHARS, clip

log = get_logger(__name__)

Render = Callable[[ImportView, Translator], str]
BAR_WIDTH = 10
INTERVAL_S = 1.0


def progress_bar(done: int, total: int, width: int = BAR_WIDTH) -> str:
    """``▰▰▰▱▱▱▱▱▱▱ 412/1000``: filled segments rounded down, so only a finished import is full."""
    filled = width * done // total if total else width
    return f"{'▰' * filled}{'▱' * (width - filled)} {done}/{total}"


def progress_text(view: ImportView, t: Translator) -> str:
    """The message while rows are being imported."""
    return t(
        "admin.import.progress",
        id=view.batch_id,
        bar=progress_bar(view.rows_done, view.rows_total),
        imported=view.imported,
        already=view.already_imported,
        failed=view.failed,
    )


def summary_text(view: ImportView, t: Translator) -> str:
    """The message once the import is over."""
    if view.status is ImportStatus.REFUSED:
        reason = view.refusal_reason.render(t) if view.refusal_reason is not None else ""
        reason = clip(reason, MAX_SHOWN_REASON_CHARS)  # it may quote the file at length
        return t("admin.import.refused", id=view.batch_id, reason=reason)
    lines = [t("admin.import.summary", id=view.batch_id, count=view.rows_total)]
    lines.append(t("admin.import.summary_imported", count=view.imported))
    if view.already_imported:
        lines.append(t("admin.import.summary_already", count=view.already_imported))
    if view.failed:
        lines.append(t("admin.import.summary_failed", count=view.failed))
    return "\n".join(lines)


class ImportProgressWatcher:
    """Edits every running import's message about once per ``interval_s``; cancel to stop."""

    def __init__(
        self, bot: Bot, progress: ImportProgress, profiles: Profiles, interval_s: float = INTERVAL_S
    ) -> None:
        self._bot = bot
        self._progress = progress
        self._profiles = profiles
        self._interval_s = interval_s

    async def run(self) -> None:
        """Poll forever; a failed pass (database blip) is retried at the next interval."""
        while True:
            raise_if_cancelled()
            try:
                await self.show_all()
            except TelegramRetryAfter as error:
                await asyncio.sleep(float(error.retry_after))
            except Exception as error:  # noqa: BLE001  (next pass retries)
                log.warning("import progress pass failed", error=str(error))
            await checked_sleep(self._interval_s)

    async def show_all(self) -> None:
        """One pass: every import not yet summed up gets its newest state shown."""
        for view in await self._progress.unshown():
            if view.is_over:
                if await self._show(view, summary_text):
                    await self._progress.summary_shown(view.batch_id)
            elif await self._moved(view):
                await self._show(view, progress_text)

    async def _moved(self, view: ImportView) -> bool:
        """True when more rows are done than shown, and this replica is the one to show it."""
        if view.status is not ImportStatus.RUNNING or view.rows_done <= view.progress_shown:
            return False
        return await self._progress.claim_progress(view.batch_id, view.rows_done)

    async def _show(self, view: ImportView, render: Render) -> bool:
        """Edit the import's message to the rendered text; False to try again next pass."""
        text = render(view, await translator_for_chat(self._profiles, view.chat_id))
        try:
            if view.message_id is not None and await self._edit(view, text):
                return True
            # Deleted by the admin, or too old to edit: carry on in a new message.
            sent = await self._bot.send_message(view.chat_id, text, parse_mode=None)
        except TelegramForbiddenError:
            log.warning("admin blocked the bot during an import", batch_id=view.batch_id)
            return True
        except TelegramRetryAfter:
            raise
        except TelegramAPIError as error:
            log.warning("import progress not shown", batch_id=view.batch_id, error=str(error))
            return False
        await self._progress.message_moved(view.batch_id, sent.message_id)
        return True

    async def _edit(self, view: ImportView, text: str) -> bool:
        try:
            await self._bot.edit_message_text(
                text, chat_id=view.chat_id, message_id=view.message_id, parse_mode=None
            )
        except TelegramBadRequest as error:
            return "not modified" in error.message
        return True
