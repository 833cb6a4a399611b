"""Sending originals to buyers: by cached file_id when Telegram already has the file,
otherwise uploaded once from the Object Store and its file_id cached for every later send.
A cached file_id Telegram no longer accepts (another bot's token, a file reference that
expired) is forgotten and the original uploaded again, instead of failing every send.

An upload goes from the Object Store to a spool file and from there to Telegram in chunks:
a 50 MB original (or several being bought at once) never sits in the bot's memory."""

from __future__ import annotations

import html
import mimetypes

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, FSInputFile
from aiogram_dialog import DialogManager

from vitrina_bot.i18n import Translator
from vitrina_common.logging import get_logger
from vitrina_common.services.checkout import DeliveryQueries, Download
from vitrina_common.storage.objects import ImageStore
from vitrina_common.storage.spool import Spool

log = get_logger(__name__)


# Telegram's words for a file_id it does not (or no longer) know.
_STALE_FILE_ID_WORDS = ("file identifier", "file reference", "file_id", "FILE_REFERENCE")


def is_stale_file_id(error: TelegramBadRequest) -> bool:
    """Whether Telegram refused a call because of the file_id it was given."""
    return any(words in error.message for words in _STALE_FILE_ID_WORDS)


class FileSender:
    """Sends originals as documents (never as photos: those would be recompressed)."""

    def __init__(
        self, bot: Bot, store: ImageStore, file_ids: DeliveryQueries, spool: Spool
    ) -> None:
        self._bot = bot
        self._store = store
        self._file_ids = file_ids
        self._spool = spool

    async def send(self, chat_id: int, original: Download, caption: str) -> None:
        """Send ``original`` to ``chat_id``; the first upload's file_id is remembered."""
        if original.original_file_id:
            try:
                await self._bot.send_document(chat_id, original.original_file_id, caption=caption)
            except TelegramBadRequest as error:
                if not is_stale_file_id(error):
                    raise
                log.warning("cached file_id refused, uploading again", product=original.product_id)
                await self._file_ids.forget_original_file_id(
                    original.product_id, original.original_file_id
                )
            else:
                return
        extension = mimetypes.guess_extension(original.original_mime) or ".bin"
        name = "".join(c if c.isalnum() or c in " -_" else "_" for c in original.title)[:60]
        with self._spool.file() as (path, file):
            await self._store.download_original(original.original_key, file)
            upload = FSInputFile(path, f"{name or 'image'}{extension}")
            message = await self._bot.send_document(chat_id, upload, caption=caption)
        if message.document is not None:
            await self._file_ids.cache_original_file_id(
                original.product_id, message.document.file_id
            )


async def send_download(
    event: CallbackQuery, manager: DialogManager, download: Download | None
) -> None:
    """A dialog button asked for a file: send it, or say the purchase is not there."""
    translate: Translator = manager.middleware_data["t"]
    sender: FileSender = manager.middleware_data["file_sender"]
    if download is None or event.message is None:
        await event.answer(translate("purchases.not_found"), show_alert=True)
        return
    await event.answer()
    caption = translate("delivery.caption", title=html.escape(download.title))
    await sender.send(event.message.chat.id, download, caption=caption)
