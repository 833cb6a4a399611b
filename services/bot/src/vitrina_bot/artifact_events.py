"""The bot's side of ``events.artifact.ready``: send a file the worker made (an export, a
chart, a failed-rows CSV) to the admin who asked for it, caption in their language.

A durable consumer, so nothing is missed while the bot is down; a repeated event after a
crash between the send and the ack may send the file twice, never zero times. A file whose
object expired (the bot was down for more than a day) is dropped with a log line.
"""

from __future__ import annotations

import contextlib

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter
from aiogram.types import BufferedInputFile
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.errors import FetchTimeoutError
from pydantic import ValidationError

from vitrina_bot.i18n import translator_for_chat
from vitrina_common.logging import get_logger
from vitrina_common.messaging.contracts import ArtifactReady
from vitrina_common.messaging.provisioning import ensure_pull_consumer
from vitrina_common.messaging.topology import BOT_ARTIFACT_EVENTS_CONSUMER
from vitrina_common.services.profile import Profiles
from vitrina_common.storage.objects import ImageStore, ObjectNotStoredError

log = get_logger(__name__)

ACK_WAIT_S = 60.0
MAX_DELIVER = 10
RETRY_DELAY_S = 5.0


class ArtifactEventsConsumer:
    """Consumes artifact events until cancelled."""

    def __init__(self, js: JetStreamContext, bot: Bot, profiles: Profiles) -> None:
        self._js = js
        self._bot = bot
        self._store = ImageStore(js)
        self._profiles = profiles

    async def run(self) -> None:
        """Bind the durable consumer and handle events forever."""
        spec = BOT_ARTIFACT_EVENTS_CONSUMER
        await ensure_pull_consumer(self._js, spec, ack_wait_s=ACK_WAIT_S, max_deliver=MAX_DELIVER)
        subscription = await self._js.pull_subscribe_bind(spec.durable, stream=spec.stream)
        while True:
            with contextlib.suppress(FetchTimeoutError, TimeoutError):
                for message in await subscription.fetch(batch=10, timeout=5):
                    await self._settle(message)

    async def _settle(self, message: Msg) -> None:
        try:
            await self.send(ArtifactReady.model_validate_json(message.data))
        except ValidationError as error:
            log.error("malformed artifact event dropped", error=str(error))  # noqa: TRY400
            await message.term()
        except ObjectNotStoredError:
            log.warning("artifact expired before it could be sent", subject=message.subject)
            await message.term()
        except (TelegramForbiddenError, TelegramBadRequest) as error:
            # The admin blocked the bot or the chat is gone: retrying cannot help.
            log.warning("artifact not deliverable", error=error.message)
            await message.term()
        except TelegramRetryAfter as error:
            await message.nak(delay=float(error.retry_after))
        except Exception as error:  # noqa: BLE001  (retried; max_deliver bounds it)
            log.warning("artifact event will be retried", error=str(error))
            await message.nak(delay=RETRY_DELAY_S)
        else:
            await message.ack()

    async def send(self, event: ArtifactReady) -> None:
        """Fetch the file and send it as a document or a photo."""
        data = await self._store.get_artifact(event.artifact_key)
        caption = None
        if event.caption_key is not None:
            translate = await translator_for_chat(self._profiles, event.chat_id)
            caption = translate(event.caption_key, **event.caption_args)
        file = BufferedInputFile(data, event.filename)
        if event.kind == "photo":
            await self._bot.send_photo(event.chat_id, file, caption=caption, parse_mode=None)
        else:
            await self._bot.send_document(event.chat_id, file, caption=caption, parse_mode=None)
