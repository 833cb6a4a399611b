"""The bot's side of ``events.preview.*``: upload a ready preview to Telegram once and cache
its file_id; tell the admin about a failure. A durable consumer, so nothing is missed while
the bot is down; Telegram's flood limits are honoured by retrying after ``retry_after``."""

from __future__ import annotations

import html

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramRetryAfter
from aiogram.types import BufferedInputFile
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from vitrina_bot.event_consumer import EventConsumer
from vitrina_bot.i18n import translator_for_chat
from vitrina_common.logging import get_logger
from vitrina_common.messaging.contracts import PreviewFailed, PreviewReady
from vitrina_common.messaging.topology import BOT_PREVIEW_EVENTS_CONSUMER
from vitrina_common.services.browse import CategoryCounts
from vitrina_common.services.catalog import CachePreviewFileId, RecordPreviewOutcome
from vitrina_common.services.profile import Profiles
from vitrina_common.storage.objects import ImageStore

log = get_logger(__name__)


class PreviewEventsConsumer(EventConsumer):
    """Consumes preview events until cancelled."""

    spec = BOT_PREVIEW_EVENTS_CONSUMER

    def __init__(
        self,
        js: JetStreamContext,
        bot: Bot,
        products: RecordPreviewOutcome,
        cache_file_id: CachePreviewFileId,
        storage_chat_id: int | None,
        profiles: Profiles,
        catalog_counts: CategoryCounts | None = None,
    ) -> None:
        super().__init__(js)
        self._bot = bot
        self._store = ImageStore(js)
        self._products = products
        self._cache_file_id = cache_file_id
        self._storage_chat_id = storage_chat_id
        self._profiles = profiles
        self._catalog_counts = catalog_counts

    async def handle(self, message: Msg) -> None:
        """Upload a ready preview once; tell the admin about a failed one."""
        if message.subject == PreviewReady.subject:
            if self._catalog_counts is not None:  # a product just went on sale
                self._catalog_counts.forget()
            await self._on_ready(PreviewReady.model_validate_json(message.data))
        elif message.subject == PreviewFailed.subject:
            await self._on_failed(PreviewFailed.model_validate_json(message.data))

    async def _on_ready(self, event: PreviewReady) -> None:
        product = await self._products.product(event.product_id)
        if product is None or product.preview_key != event.preview_key:
            return  # deleted or re-rendered since: a newer event will follow
        chat_id = self._storage_chat_id or event.notify_chat_id
        translate = await translator_for_chat(self._profiles, event.notify_chat_id)
        caption = translate(
            "upload.preview_caption",
            id=product.id,
            title=html.escape(product.title),
            price=product.price_stars,
        )
        if product.preview_file_id is None:
            if chat_id is None:
                log.warning("no chat to upload the preview to", product_id=product.id)
                return
            data = await self._store.get_preview(event.preview_key)
            sent = await self._bot.send_photo(
                chat_id, BufferedInputFile(data, f"preview-{product.id}.jpg"), caption=caption
            )
            file_id = max(sent.photo or [], key=lambda size: size.width).file_id
            await self._cache_file_id(product.id, event.preview_key, file_id)
            if chat_id == event.notify_chat_id:
                return
            photo = file_id
        else:
            photo = product.preview_file_id
        if event.notify_chat_id is not None:
            await self._bot.send_photo(event.notify_chat_id, photo, caption=caption)

    async def _on_failed(self, event: PreviewFailed) -> None:
        if event.notify_chat_id is None:
            return
        try:
            translate = await translator_for_chat(self._profiles, event.notify_chat_id)
            await self._bot.send_message(
                event.notify_chat_id,
                translate("upload.preview_failed", id=event.product_id, reason=event.reason),
                parse_mode=None,
            )
        except TelegramAPIError as error:
            if isinstance(error, TelegramRetryAfter):
                raise
            log.warning("could not tell the admin", error=str(error))
