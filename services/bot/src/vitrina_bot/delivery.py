"""The outbox handler that delivers a paid original to its buyer."""

from __future__ import annotations

import html
from typing import Any

from aiogram.exceptions import TelegramForbiddenError

from vitrina_bot.files import FileSender
from vitrina_bot.i18n import translator_for_chat
from vitrina_common.logging import get_logger
from vitrina_common.outbox import OutboxHandler
from vitrina_common.services.checkout import DeliveryQueries
from vitrina_common.services.profile import Profiles

log = get_logger(__name__)


def send_original_handler(
    queries: DeliveryQueries, sender: FileSender, profiles: Profiles
) -> OutboxHandler:
    """Deliver ``{"purchase_id": …}``: the document, by cached file_id after the first send.

    Raising makes the relay retry with backoff; a refunded purchase or a buyer who blocked
    the bot ends the row without a send.
    """

    async def deliver(payload: dict[str, Any]) -> None:
        target = await queries.delivery_target(int(payload["purchase_id"]))
        if target is None:
            return
        translate = await translator_for_chat(profiles, target.chat_id)
        download = target.download
        try:
            await sender.send(
                target.chat_id,
                download,
                caption=translate("delivery.caption", title=html.escape(download.title)),
            )
        except TelegramForbiddenError:
            log.warning("buyer blocked the bot; delivery dropped", purchase=download.purchase_id)
            await profiles.mark_blocked(target.chat_id)
            return
        log.info("original delivered", purchase=download.purchase_id, user=target.chat_id)

    return deliver
