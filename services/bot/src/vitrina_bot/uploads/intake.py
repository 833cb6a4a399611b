"""Taking an admin's file from Telegram into the pipeline.

Download from the Bot API → Object Store under the sha256 → product (``rendering``) and its
render job committed together (outbox) → the relay publishes the job at once.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from aiogram import Bot

from vitrina_common.outbox import OutboxRelay
from vitrina_common.services.catalog import NewProduct, RegisterUpload, UploadedOriginal
from vitrina_common.storage.capacity import StorageFullError, StorageRoom
from vitrina_common.storage.objects import ImageStore

# getFile of Telegram's cloud Bot API serves files up to 20 MB; a local server has no limit.
CLOUD_DOWNLOAD_LIMIT = 20 * 1024 * 1024


class UploadRefusedError(ValueError):
    """The file cannot be taken; ``code`` names the reason in the catalogs
    (``upload.reason.<code>``), ``arguments`` fill it in."""

    def __init__(self, code: str, **arguments: object) -> None:
        super().__init__(code)
        self.code = code
        self.arguments = arguments


@dataclass(frozen=True)
class IncomingFile:
    """What Telegram told us about the file before we download it."""

    file_id: str
    size: int | None
    mime: str
    # A document is the file as the admin had it; a photo was recompressed by Telegram.
    is_original: bool


@dataclass(frozen=True)
class UploadLimits:
    """Which files the bot accepts."""

    max_bytes: int
    cloud_api: bool


class UploadIntake:
    """Downloads, stores and registers an upload."""

    def __init__(
        self,
        bot: Bot,
        store: ImageStore,
        register: RegisterUpload,
        relay: OutboxRelay,
        limits: UploadLimits,
        room: StorageRoom,
    ) -> None:
        self._bot = bot
        self._store = store
        self._register = register
        self._relay = relay
        self._limits = limits
        self._room = room

    def check_size(self, size: int | None) -> None:
        """Refuse early what could never be downloaded or rendered."""
        if size is None:
            return
        megabytes = f"{size / 2**20:.0f}"
        if self._limits.cloud_api and size > CLOUD_DOWNLOAD_LIMIT:
            raise UploadRefusedError("cloud_limit", size=megabytes)
        if size > self._limits.max_bytes:
            raise UploadRefusedError(
                "too_big", size=megabytes, limit=f"{self._limits.max_bytes / 2**20:.0f}"
            )

    async def accept(self, incoming: IncomingFile, product: NewProduct, chat_id: int) -> int:
        """Store and register the upload; returns the new product's id."""
        self.check_size(incoming.size)
        await self._check_room(incoming.size or 0)
        buffer = io.BytesIO()
        await self._bot.download(incoming.file_id, destination=buffer, timeout=300)
        data = buffer.getvalue()
        self.check_size(len(data))
        if incoming.size is None:
            await self._check_room(len(data))
        sha = await self._store.put_original(data)
        job = await self._register(
            product,
            UploadedOriginal(
                sha256=sha,
                size=len(data),
                mime=incoming.mime,
                telegram_file_id=incoming.file_id if incoming.is_original else None,
            ),
            notify_chat_id=chat_id,
        )
        self._relay.wake()
        return job.product_id

    async def _check_room(self, size: int) -> None:
        # A full originals bucket would refuse the write after the download; say it first.
        try:
            await self._room.check_originals(size)
        except StorageFullError as full:
            raise UploadRefusedError("storage_full", **full.arguments) from full
