"""The outbox handlers that speak to people: a shopper's notice, the admins' alert, each
rendered in its reader's language from a code and arguments (``vitrina_common.notices``)."""

from __future__ import annotations

import html
from collections.abc import Collection
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError

from vitrina_bot.i18n import Translator, translator_for_chat
from vitrina_common.logging import get_logger
from vitrina_common.outbox import OutboxHandler
from vitrina_common.services.profile import Profiles

log = get_logger(__name__)


def _arguments(payload: dict[str, Any]) -> dict[str, Any]:
    # Titles, errors and the like are user or system text going into HTML.
    return {
        name: html.escape(value) if isinstance(value, str) else value
        for name, value in dict(payload.get("arguments") or {}).items()
    }


def _render(t: Translator, section: str, payload: dict[str, Any]) -> str:
    arguments = _arguments(payload)
    text = t(f"{section}.{payload['code']}", **arguments)
    reason = payload.get("arguments", {}).get("reason")
    if isinstance(reason, str):
        # A refusal's reason is a code too, with a sentence of its own.
        text += "\n" + t(f"refusal.{reason}")
    return text


async def _send_attachment(bot: Bot, chat_id: int, payload: dict[str, Any]) -> None:
    """The photo or document a notice carries (a ticket's answer), after its text.

    Its failure is logged, not raised: the text reached the reader already, and a retry of
    the row would send that text again (the ticket's conversation still names the file).
    """
    attachment = payload.get("attachment")
    if not isinstance(attachment, dict):
        return
    file_id = str(attachment.get("file_id"))
    try:
        if attachment.get("kind") == "photo":
            await bot.send_photo(chat_id, file_id)
        else:
            await bot.send_document(chat_id, file_id)
    except TelegramAPIError as error:
        log.warning("notice attachment not sent", chat_id=chat_id, error=error.message)


def notify_user_handler(bot: Bot, profiles: Profiles) -> OutboxHandler:
    """Deliver ``{"chat_id", "code", "arguments"}`` as ``notices.<code>`` in the user's
    language; a user who blocked the bot is marked so and the row ends."""

    async def notify(payload: dict[str, Any]) -> None:
        chat_id = int(payload["chat_id"])
        t = await translator_for_chat(profiles, chat_id)
        try:
            await bot.send_message(chat_id, _render(t, "notices", payload))
            await _send_attachment(bot, chat_id, payload)
        except TelegramForbiddenError:
            await profiles.mark_blocked(chat_id)

    return notify


def alert_admins_handler(bot: Bot, admin_ids: Collection[int], profiles: Profiles) -> OutboxHandler:
    """Deliver ``{"code", "arguments"}`` as ``alerts.<code>`` to every admin in their
    language. One admin's failure does not stop the others; the row is retried only when
    no admin could be told (then those told once may read it twice)."""

    async def alert(payload: dict[str, Any]) -> None:
        failures: list[str] = []
        for admin_id in admin_ids:
            t = await translator_for_chat(profiles, admin_id)
            try:
                await bot.send_message(admin_id, _render(t, "alerts", payload))
                await _send_attachment(bot, admin_id, payload)
            except TelegramAPIError as error:
                failures.append(f"{admin_id}: {error.message}")
        if failures:
            log.warning("admins not told", code=payload.get("code"), failures=failures)
        if admin_ids and len(failures) == len(admin_ids):
            raise RuntimeError(f"no admin could be told: {'; '.join(failures)}")

    return alert
