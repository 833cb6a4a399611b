"""Files from Telegram written to disk as they arrive, never held in memory: a 200 MB import
ZIP would otherwise cost the bot 200 MB (twice, before this module) under a limit sized for
answering shoppers.

The download goes into a spool file (``vitrina_common.storage.spool``), is hashed on the way
when the caller needs the sha256 (an original is keyed by it), and is cut off as soon as it
passes the size the caller accepts, whatever Telegram said the size was.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

from aiogram import Bot

from vitrina_common.storage.spool import Spool

# Telegram's cloud API and a local server alike: minutes for hundreds of MB.
DOWNLOAD_TIMEOUT_S = 300


class DownloadTooLargeError(Exception):
    """The file passed ``limit`` bytes while downloading (``received`` so far)."""

    def __init__(self, received: int, limit: int) -> None:
        super().__init__(f"download passed {limit} bytes")
        self.received = received
        self.limit = limit


@dataclass(frozen=True)
class DownloadedFile:
    """A download on disk: where, how big, its sha256 when asked for, and the open file."""

    path: Path
    size: int
    sha256: str | None
    file: BinaryIO


class _CappedWriter:
    """What aiogram writes each chunk into: counts, hashes and refuses past the limit."""

    def __init__(self, file: BinaryIO, limit: int, hashed: bool) -> None:
        self.file = file
        self.limit = limit
        self.size = 0
        self.digest = hashlib.sha256() if hashed else None

    def write(self, chunk: bytes) -> int:
        self.size += len(chunk)
        if self.size > self.limit:
            raise DownloadTooLargeError(self.size, self.limit)
        if self.digest is not None:
            self.digest.update(chunk)
        return self.file.write(chunk)

    def flush(self) -> None:
        self.file.flush()


class Downloads:
    """Downloads Telegram files into the bot's spool directory."""

    def __init__(self, bot: Bot, spool: Spool) -> None:
        self._bot = bot
        self._spool = spool

    @contextlib.asynccontextmanager
    async def fetch(
        self, file_id: str, limit: int, *, hashed: bool = False
    ) -> AsyncIterator[DownloadedFile]:
        """The file on disk, rewound, for the block; deleted when it ends.

        ``DownloadTooLargeError`` once more than ``limit`` bytes arrived.
        """
        with self._spool.file() as (path, file):
            writer = _CappedWriter(file, limit, hashed)
            await self._bot.download(
                file_id, destination=cast(BinaryIO, writer), timeout=DOWNLOAD_TIMEOUT_S, seek=False
            )
            file.flush()
            file.seek(0)
            sha = writer.digest.hexdigest() if writer.digest is not None else None
            yield DownloadedFile(path, writer.size, sha, file)
