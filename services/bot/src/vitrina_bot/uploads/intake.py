"""Taking an admin's file from Telegram into the pipeline.

Download from the Bot API to a spool file (hashed on the way) → Object Store under the sha256,
read from the file in chunks → product (``rendering``) and its render job committed together
(outbox) → the relay publishes the job at once. The file is never whole in memory.
"""

from __future__ import annotations

from dataclasses import dataclass

from vitrina_bot.downloads import Downloads, DownloadTooLargeError
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
        downloads: Downloads,
        store: ImageStore,
        register: RegisterUpload,
        relay: OutboxRelay,
        limits: UploadLimits,
        room: StorageRoom,
    ) -> None:
        self._downloads = downloads
        self._store = store
        self._register = register
        self._relay = relay
        self._limits = limits
        self._room = room

    def check_size(self, size: int | None) -> None:
        """Refuse early what could never be downloaded or rendered."""
        if size is None:
            return
        if self._limits.cloud_api and size > CLOUD_DOWNLOAD_LIMIT:
            raise UploadRefusedError("cloud_limit", size=f"{size / 2**20:.0f}")
        if size > self._limits.max_bytes:
            raise self._too_big(size)

    def _too_big(self, size: int) -> UploadRefusedError:
        limit = f"{self._limits.max_bytes / 2**20:.0f}"
        return UploadRefusedError("too_big", size=f"{size / 2**20:.0f}", limit=limit)

    async def accept(self, incoming: IncomingFile, product: NewProduct, chat_id: int) -> int:
        """Store and register the upload; returns the new product's id."""
        self.check_size(incoming.size)
        await self._check_room(incoming.size or 0)
        # Cut off past the limit, whatever size Telegram stated (or did not).
        try:
            async with self._downloads.fetch(
                incoming.file_id, self._limits.max_bytes, hashed=True
            ) as download:
                if incoming.size is None:
                    await self._check_room(download.size)
                assert download.sha256 is not None  # noqa: S101  (hashed=True)
                await self._store.put_original_file(download.file, download.sha256)
        except DownloadTooLargeError as over:
            raise self._too_big(over.received) from None
        job = await self._register(
            product,
            UploadedOriginal(
                sha256=download.sha256,
                size=download.size,
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
