"""A bulk import's CSV and ZIP in the ``imports`` Object Store bucket, between the bot's
download and the worker's plan job (which deletes them once the images are originals)."""

from __future__ import annotations

import contextlib
import io
import uuid
from typing import BinaryIO, cast

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError, ObjectNotFoundError
from nats.js.object_store import ObjectStore

from vitrina_common.messaging.topology import IMPORTS_BUCKET
from vitrina_common.storage.objects import ObjectNotStoredError


def _buffered(file: BinaryIO) -> io.BufferedIOBase:
    # nats-py's annotations name BufferedIOBase; it only calls readinto() and write().
    return cast(io.BufferedIOBase, file)


def new_import_file_key(suffix: str) -> str:
    """A fresh, unguessable key such as ``3f2a….zip``."""
    return f"{uuid.uuid4().hex}.{suffix}"


class ImportFiles:
    """Stores, reads and deletes import files; one instance per NATS connection."""

    def __init__(self, js: JetStreamContext) -> None:
        self._js = js
        self._store: ObjectStore | None = None

    async def _bucket(self) -> ObjectStore:
        if self._store is None:
            self._store = await self._js.object_store(IMPORTS_BUCKET.name)
        return self._store

    async def put(self, key: str, data: bytes | BinaryIO) -> None:
        """Store (or replace) a file: bytes, or an open binary file read in chunks."""
        await (await self._bucket()).put(key, data if isinstance(data, bytes) else _buffered(data))

    async def get(self, key: str) -> bytes:
        """A file's bytes (the CSV: small); ``ObjectNotStoredError`` when it expired or was
        deleted."""
        buffer = io.BytesIO()
        await self.download(key, buffer)
        return buffer.getvalue()

    async def download(self, key: str, destination: BinaryIO) -> None:
        """Write a file into ``destination`` chunk by chunk (a ZIP of 200 MB goes to disk,
        not to memory); ``ObjectNotStoredError`` when it expired or was deleted."""
        try:
            await (await self._bucket()).get(key, writeinto=_buffered(destination))
        except ObjectNotFoundError as error:
            raise ObjectNotStoredError(f"{IMPORTS_BUCKET.name}/{key}") from error

    async def delete(self, key: str) -> None:
        """Delete a file; deleting one already gone is fine (a redelivered job)."""
        with contextlib.suppress(ObjectNotFoundError, NotFoundError):
            await (await self._bucket()).delete(key)
