"""A bulk import's CSV and ZIP in the ``imports`` Object Store bucket, between the bot's
download and the worker's plan job (which deletes them once the images are originals)."""

from __future__ import annotations

import contextlib
import uuid

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError, ObjectNotFoundError
from nats.js.object_store import ObjectStore

from vitrina_common.messaging.topology import IMPORTS_BUCKET
from vitrina_common.storage.objects import ObjectNotStoredError


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

    async def put(self, key: str, data: bytes) -> None:
        """Store (or replace) a file."""
        await (await self._bucket()).put(key, data)

    async def get(self, key: str) -> bytes:
        """A file's bytes; ``ObjectNotStoredError`` when it expired or was deleted."""
        try:
            result = await (await self._bucket()).get(key)
        except ObjectNotFoundError as error:
            raise ObjectNotStoredError(f"{IMPORTS_BUCKET.name}/{key}") from error
        return bytes(result.data or b"")

    async def delete(self, key: str) -> None:
        """Delete a file; deleting one already gone is fine (a redelivered job)."""
        with contextlib.suppress(ObjectNotFoundError, NotFoundError):
            await (await self._bucket()).delete(key)
