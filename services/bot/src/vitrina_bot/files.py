"""Sending originals to buyers: by cached file_id when Telegram already has the file,
otherwise uploaded once from the Object Store and its file_id cached for every later send."""

from __future__ import annotations

import html
import mimetypes
from collections.abc import Awaitable, Callable

from aiogram import Bot
from aiogram.types import BufferedInputFile, CallbackQuery
from aiogram_dialog import DialogManager

from vitrina_bot.i18n import Translator
from vitrina_common.services.checkout import Download
from vitrina_common.storage.objects import ImageStore


class FileSender:
    """Sends originals as documents (never as photos: those would be recompressed)."""

    def __init__(
        self, bot: Bot, store: ImageStore, cache_file_id: Callable[[int, str], Awaitable[object]]
    ) -> None:
        self._bot = bot
        self._store = store
        self._cache_file_id = cache_file_id

    async def send(self, chat_id: int, original: Download, caption: str) -> None:
        """Send ``original`` to ``chat_id``; the first upload's file_id is remembered."""
        if original.original_file_id:
            await self._bot.send_document(chat_id, original.original_file_id, caption=caption)
            return
        data = await self._store.get_original(original.original_key)
        extension = mimetypes.guess_extension(original.original_mime) or ".bin"
        name = "".join(c if c.isalnum() or c in " -_" else "_" for c in original.title)[:60]
        message = await self._bot.send_document(
            chat_id, BufferedInputFile(data, f"{name or 'image'}{extension}"), caption=caption
        )
        if message.document is not None:
            await self._cache_file_id(original.product_id, message.document.file_id)


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
