"""The bot's side of ``events.artifact.>``: send a file the worker made (an export, a
chart, a failed-rows CSV) to the admin who asked for it, caption in their language; or,
for ``events.artifact.failed``, tell them the file will not come.

A durable consumer, so nothing is missed while the bot is down; a repeated event after a
crash between the send and the ack may send the file twice, never zero times. A file whose
object expired (the bot was down for more than a day) is dropped with a log line. A file
larger than Telegram lets a bot send (50 MB to the cloud Bot API, 2000 MB to a local Bot
API server) is not attempted: the admin is told its size instead.
"""

from __future__ import annotations

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.types import FSInputFile
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from vitrina_bot.event_consumer import EventConsumer
from vitrina_bot.i18n import translator_for_chat
from vitrina_common.logging import get_logger
from vitrina_common.messaging.contracts import ArtifactFailed, ArtifactReady
from vitrina_common.messaging.topology import BOT_ARTIFACT_EVENTS_CONSUMER
from vitrina_common.services.profile import Profiles
from vitrina_common.storage.objects import ImageStore, ObjectNotStoredError
from vitrina_common.storage.spool import Spool

log = get_logger(__name__)

MIB = 1024 * 1024
CLOUD_SEND_LIMIT = 50 * MIB
LOCAL_SERVER_SEND_LIMIT = 2000 * MIB


class ArtifactEventsConsumer(EventConsumer):
    """Consumes artifact events until cancelled."""

    spec = BOT_ARTIFACT_EVENTS_CONSUMER
    # An expired object, a chat that blocked the bot or is gone: retrying cannot help.
    permanent = (ObjectNotStoredError, TelegramForbiddenError, TelegramBadRequest)

    def __init__(
        self,
        js: JetStreamContext,
        bot: Bot,
        profiles: Profiles,
        max_send_bytes: int = CLOUD_SEND_LIMIT,
        spool: Spool | None = None,
    ) -> None:
        super().__init__(js)
        self._bot = bot
        self._store = ImageStore(js)
        self._profiles = profiles
        self._max_send_bytes = max_send_bytes
        # Up to 2000 MB through a local Bot API server: spooled to disk, sent in chunks.
        self._spool = spool or Spool(None, "bot")

    async def handle(self, message: Msg) -> None:
        """Send the artifact the event names, or the notice that it failed."""
        if message.subject == ArtifactFailed.subject:
            await self.tell_failed(ArtifactFailed.model_validate_json(message.data))
        else:
            await self.send(ArtifactReady.model_validate_json(message.data))

    async def tell_failed(self, event: ArtifactFailed) -> None:
        """The notice, in the recipient's language."""
        translate = await translator_for_chat(self._profiles, event.chat_id)
        await self._bot.send_message(event.chat_id, translate(event.text_key, **event.text_args))

    async def send(self, event: ArtifactReady) -> None:
        """Fetch the file and send it as a document or a photo."""
        size = await self._store.artifact_size(event.artifact_key)
        if size > self._max_send_bytes:
            log.warning("artifact too large to send", key=event.artifact_key, size=size)
            translate = await translator_for_chat(self._profiles, event.chat_id)
            text = translate(
                "admin.artifact.too_large",
                filename=event.filename,
                size_mb=round(size / MIB, 1),
                limit_mb=self._max_send_bytes // MIB,
            )
            await self._bot.send_message(event.chat_id, text, parse_mode=None)
            return
        caption = None
        if event.caption_key is not None:
            translate = await translator_for_chat(self._profiles, event.chat_id)
            caption = translate(event.caption_key, **event.caption_args)
        with self._spool.file() as (path, spooled):
            await self._store.download_artifact(event.artifact_key, spooled)
            file = FSInputFile(path, event.filename)
            if event.kind == "photo":
                await self._bot.send_photo(event.chat_id, file, caption=caption, parse_mode=None)
            else:
                await self._bot.send_document(event.chat_id, file, caption=caption, parse_mode=None)
