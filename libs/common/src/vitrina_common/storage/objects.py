"""Originals and previews in NATS Object Store buckets.

Originals are keyed by their sha256, so the same file uploaded twice is stored once.
Previews are keyed by product and original, so re-rendering overwrites in place.
"""

from __future__ import annotations

import hashlib
import io
from typing import BinaryIO, cast

from nats.js import JetStreamContext
from nats.js.errors import ObjectNotFoundError
from nats.js.object_store import ObjectStore

from vitrina_common.messaging.topology import ARTIFACTS_BUCKET, ORIGINALS_BUCKET, PREVIEWS_BUCKET


def sha256_hex(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def preview_key(product_id: int, original_sha256: str) -> str:
    """Where the preview of this product's original lives."""
    return f"{product_id}-{original_sha256[:16]}.jpg"


class ObjectNotStoredError(LookupError):
    """The object is not in the bucket (deleted, or never uploaded)."""


class ImageStore:
    """Reads and writes image objects; one instance per NATS connection."""

    def __init__(self, js: JetStreamContext) -> None:
        self._js = js
        # Looking a bucket up is a JetStream API round trip; the handles are reusable.
        self._buckets: dict[str, ObjectStore] = {}

    async def _bucket(self, name: str) -> ObjectStore:
        store = self._buckets.get(name)
        if store is None:
            store = self._buckets[name] = await self._js.object_store(name)
        return store

    async def put_original(self, data: bytes) -> str:
        """Store ``data`` under its sha256 unless already there; returns the key (the sha)."""
        key = sha256_hex(data)
        await self.put_original_file(io.BytesIO(data), key)
        return key

    async def put_original_file(self, file: BinaryIO, sha256: str) -> None:
        """Store an open binary file whose sha256 the caller computed (while writing it),
        unless an original with that sha is there; read in chunks, never whole."""
        store = await self._bucket(ORIGINALS_BUCKET.name)
        # Only when missing: replacing an object purges its old chunks, and no NATS user
        # may purge the originals (README "NATS users and permissions").
        try:
            await store.get_info(sha256)
        except ObjectNotFoundError:
            # nats-py reads any object with readinto(), whatever its annotation says.
            await store.put(sha256, cast(io.BufferedIOBase, file))

    async def get_original(self, key: str) -> bytes:
        """The original's bytes."""
        return await self._get(ORIGINALS_BUCKET.name, key)

    async def download_original(self, key: str, destination: BinaryIO) -> None:
        """Write the original into ``destination`` (a spool file) chunk by chunk."""
        await self._download(ORIGINALS_BUCKET.name, key, destination)

    async def put_preview(self, key: str, data: bytes) -> None:
        """Store (or replace) a preview."""
        store = await self._bucket(PREVIEWS_BUCKET.name)
        await store.put(key, data)

    async def get_preview(self, key: str) -> bytes:
        """The preview's bytes."""
        return await self._get(PREVIEWS_BUCKET.name, key)

    async def put_artifact(self, key: str, data: bytes | io.BufferedIOBase) -> None:
        """Store (or replace) a file made for an admin; the bucket expires it after a day.

        ``data`` may be an open binary file: it is read in chunks, never whole.
        """
        store = await self._bucket(ARTIFACTS_BUCKET.name)
        await store.put(key, data)

    async def artifact_size(self, key: str) -> int:
        """An artifact's size in bytes, without reading it."""
        store = await self._bucket(ARTIFACTS_BUCKET.name)
        try:
            info = await store.get_info(key)
        except ObjectNotFoundError as error:
            raise ObjectNotStoredError(f"{ARTIFACTS_BUCKET.name}/{key}") from error
        return int(info.size or 0)

    async def get_artifact(self, key: str) -> bytes:
        """An artifact's bytes."""
        return await self._get(ARTIFACTS_BUCKET.name, key)

    async def download_artifact(self, key: str, destination: BinaryIO) -> None:
        """Write an artifact into ``destination`` (a spool file) chunk by chunk."""
        await self._download(ARTIFACTS_BUCKET.name, key, destination)

    async def _get(self, bucket: str, key: str) -> bytes:
        # Into a buffer: without one, nats-py appends each 128 KiB chunk to a bytes object,
        # copying the whole object again per chunk (seconds and twice the memory at 50 MB).
        buffer = io.BytesIO()
        await self._download(bucket, key, buffer)
        return buffer.getvalue()

    async def _download(self, bucket: str, key: str, destination: BinaryIO) -> None:
        store = await self._bucket(bucket)
        try:
            # nats-py writes to any object with write(), whatever its annotation says.
            await store.get(key, writeinto=cast(io.BufferedIOBase, destination))
        except ObjectNotFoundError as error:
            raise ObjectNotStoredError(f"{bucket}/{key}") from error
        destination.flush()
