"""Taking an import's files from Telegram: judged by name and stated size before the
download (and refused while the image storage is nearly full), by content right after it,
then stored in the ``imports`` bucket; once both are there (or one ZIP carrying the CSV),
the import is recorded with its plan job (outbox).

A file goes to a spool file on disk, is checked there and stored from there in chunks: a ZIP
of 200 MB never sits in the bot's memory.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from aiogram import Bot

from vitrina_bot.downloads import Downloads, DownloadTooLargeError
from vitrina_bot.i18n import Translator
from vitrina_bot.uploads.intake import CLOUD_DOWNLOAD_LIMIT
from vitrina_common.imports import (
    ImageArchive,
    ImportFileError,
    ImportLimits,
    ImportReason,
    find_csv,
    open_archive,
    parse_header,
    refuse_unsafe_paths,
)
from vitrina_common.messaging.topology import ORIGINALS_BUCKET
from vitrina_common.outbox import OutboxRelay
from vitrina_common.services.imports import ImportRequest, StartImport, StoredImportFiles
from vitrina_common.storage.capacity import StorageFullError, StorageRoom
from vitrina_common.storage.import_files import ImportFiles, new_import_file_key
from vitrina_common.text_limits import MAX_SHOWN_REASON_CHARS, clip

_CSV_SUFFIXES = (".csv", ".tsv", ".txt")
_SPREADSHEETS = (".xlsx", ".xls", ".xlsm", ".ods", ".numbers")
_ZIP_TYPES = ("application/zip", "application/x-zip-compressed")


class ImportFileKind(StrEnum):
    CSV = "csv"
    ZIP = "zip"


class ImportFileRefusedError(ValueError):
    """The file cannot be used; ``code`` names the reason in the catalogs
    (``admin.import.reason.<code>``), ``arguments`` fill it in (an ``ImportReason`` among
    them is rendered in the same language)."""

    def __init__(self, code: str, **arguments: object) -> None:
        super().__init__(code)
        self.code = code
        self.arguments = arguments

    def render(self, t: Translator) -> str:
        """The reason in ``t``'s language, short enough for a message."""
        arguments = {
            name: value.render(t) if isinstance(value, ImportReason) else value
            for name, value in self.arguments.items()
        }
        # A reason may quote the file (a header line of 64 KiB, hundreds of entry names).
        return clip(t(f"admin.import.reason.{self.code}", **arguments), MAX_SHOWN_REASON_CHARS)


@dataclass(frozen=True)
class IncomingDocument:
    """What Telegram told us about a document before we download it."""

    file_id: str
    file_name: str
    mime: str
    size: int | None


@dataclass(frozen=True)
class ReceivedFile:
    """A file checked and stored in the ``imports`` bucket."""

    kind: ImportFileKind
    key: str
    name: str
    # A ZIP with exactly one CSV inside is a whole import on its own.
    carries_csv: bool = False


@dataclass(frozen=True)
class IntakeLimits:
    """Which files the bot downloads for an import."""

    parsing: ImportLimits
    max_zip_bytes: int
    cloud_api: bool


def _carries_csv(archive: ImageArchive) -> bool:
    # No CSV inside, or several: the admin sends the CSV as its own file (which then wins).
    try:
        find_csv(archive)
    except ImportFileError:
        return False
    return True


def _megabytes(size: int) -> str:
    return f"{size / 2**20:.1f}".removesuffix(".0")


class ImportIntake:
    """Checks, downloads and stores import files, and starts imports."""

    def __init__(
        self,
        bot: Bot,
        files: ImportFiles,
        start: StartImport,
        relay: OutboxRelay,
        limits: IntakeLimits,
        previews_to_admin: bool,
        room: StorageRoom,
        downloads: Downloads,
    ) -> None:
        self._bot = bot
        self._downloads = downloads
        self._files = files
        self._start = start
        self._relay = relay
        self.limits = limits
        # Without a storage chat the previews are uploaded to the admin (to get their file_id).
        self._previews_to_admin = previews_to_admin
        self._room = room

    def classify(self, document: IncomingDocument) -> ImportFileKind:
        """CSV or ZIP by name (then type), and small enough; ``ImportFileRefusedError`` if not."""
        name = document.file_name.casefold()
        if name.endswith(".zip") or (not name and document.mime in _ZIP_TYPES):
            kind = ImportFileKind.ZIP
        elif name.endswith(_CSV_SUFFIXES) or (not name and document.mime.startswith("text/")):
            kind = ImportFileKind.CSV
        elif name.endswith(_SPREADSHEETS):
            raise ImportFileRefusedError("spreadsheet", name=document.file_name)
        else:
            raise ImportFileRefusedError("not_csv_or_zip", name=document.file_name or "?")
        self._check_size(kind, document.size)
        return kind

    def _limit(self, kind: ImportFileKind) -> int:
        if kind is ImportFileKind.CSV:
            return self.limits.parsing.max_csv_bytes
        return self.limits.max_zip_bytes

    def _too_big(self, kind: ImportFileKind, size: int) -> ImportFileRefusedError:
        limit = _megabytes(self._limit(kind))
        return ImportFileRefusedError(f"{kind.value}_too_big", size=_megabytes(size), limit=limit)

    def _check_size(self, kind: ImportFileKind, size: int | None) -> None:
        if size is None:
            return
        if size > self._limit(kind):
            raise self._too_big(kind, size)
        if self.limits.cloud_api and size > CLOUD_DOWNLOAD_LIMIT:
            raise ImportFileRefusedError("cloud_limit", size=_megabytes(size))

    async def receive(self, document: IncomingDocument) -> ReceivedFile:
        """Download, check and store one file; ``ImportFileRefusedError`` says why not."""
        kind = self.classify(document)
        await self._check_room(kind, document.size or 0)
        key = new_import_file_key(kind.value)
        try:
            async with self._downloads.fetch(document.file_id, self._limit(kind)) as download:
                if document.size is None:
                    await self._check_room(kind, download.size)
                carries_csv = await asyncio.to_thread(self._check_content, kind, download.path)
                await self._files.put(key, download.file)
        except DownloadTooLargeError as over:
            raise self._too_big(kind, over.received) from None
        return ReceivedFile(kind, key, document.file_name or f"import.{kind.value}", carries_csv)

    async def _check_room(self, kind: ImportFileKind, size: int) -> None:
        # The ZIP's images become originals (about its size: images hardly compress), and
        # the file waits in the imports bucket until planned. Refused now, the admin hears
        # why at once instead of the worker failing the import later.
        images = size if kind is ImportFileKind.ZIP else 0
        try:
            await self._room.check_originals(images)
            await self._room.check_imports(size)
        except StorageFullError as full:
            if full.fill.bucket == ORIGINALS_BUCKET.name:
                raise ImportFileRefusedError("storage_full", **full.arguments) from full
            raise ImportFileRefusedError("imports_storage_full", **full.arguments) from full

    def _check_content(self, kind: ImportFileKind, path: Path) -> bool:
        """Refuse at once what the worker would refuse (directory and header only, no rows)."""
        try:
            if kind is ImportFileKind.CSV:
                # At most max_csv_bytes (5 MB by default): the download stopped past them.
                parse_header(path.read_bytes(), self.limits.parsing)
                return False
            with open_archive(path, self.limits.parsing) as archive:
                refuse_unsafe_paths(archive)
                return _carries_csv(archive)
        except ImportFileError as error:
            raise ImportFileRefusedError("unreadable", reason=error.reason) from error

    async def start(
        self, admin_id: int, chat_id: int, files: StoredImportFiles, t: Translator
    ) -> int:
        """Post the message that will show the progress, then record the import."""
        names = ", ".join(name for name in (files.csv_name, files.zip_name) if name)
        message = await self._bot.send_message(
            chat_id, t("admin.import.reading", files=names), parse_mode=None
        )
        batch_id = await self._start(
            ImportRequest(
                admin_telegram_id=admin_id,
                chat_id=chat_id,
                progress_message_id=message.message_id,
                files=files,
                preview_chat_id=chat_id if self._previews_to_admin else None,
            )
        )
        self._relay.wake()
        return batch_id
