"""Backing up the ``originals`` bucket to a directory, and restoring it from there.

Originals are keyed by their sha256 and never change, so both directions are incremental
and verifiable by name alone: a backup copies only keys the directory lacks, a restore puts
back only keys the bucket lacks, and every byte is hashed on the way (the name is the
checksum). Both are idempotent and resumable: run them again after any failure. Objects
travel one at a time, streamed in chunks, so memory holds one chunk, not one bucket.

The database is not here: CloudNativePG backs it up, and ``products.original_key`` names
the objects this restores (README, "Backups and the restore drill").
"""

from __future__ import annotations

import asyncio
import base64
import io
from dataclasses import dataclass, field
from pathlib import Path

from nats.js import JetStreamContext, api
from nats.js.errors import (
    BucketNotFoundError,
    DigestMismatchError,
    NotFoundError,
    ObjectNotFoundError,
)
from nats.js.object_store import ObjectStore

from vitrina_common.logging import get_logger
from vitrina_common.messaging.topology import ORIGINALS_BUCKET
from vitrina_common.storage.backup_dir import (
    BackupDir,
    ChecksumMismatchError,
    is_sha256_key,
    sha256_of_file,
)

log = get_logger(__name__)


class BucketMissingError(RuntimeError):
    """The bucket does not exist on this NATS (restore into a provisioned JetStream)."""


@dataclass
class BackupReport:
    """What one backup run did; ``failed`` maps a key to why it is not in the backup."""

    copied: int = 0
    copied_bytes: int = 0
    unchanged: int = 0
    repaired: int = 0
    vanished: int = 0
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Every object the bucket listed is now in the backup, verified."""
        return not self.failed


@dataclass
class RestoreReport:
    """What one restore run did. ``corrupt``: backup files whose bytes do not match their
    sha256 (left out of the bucket); ``missing``: recorded in the manifest, file gone."""

    restored: int = 0
    restored_bytes: int = 0
    present: int = 0
    corrupt: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every object the backup holds is in the bucket now."""
        return not (self.corrupt or self.missing)


def nats_digest(key: str) -> str:
    """The ``digest`` NATS records for an object whose sha256 is ``key``."""
    return "SHA-256=" + base64.urlsafe_b64encode(bytes.fromhex(key)).decode()


async def _bucket(js: JetStreamContext, name: str) -> ObjectStore:
    try:
        return await js.object_store(name)
    except BucketNotFoundError as error:
        raise BucketMissingError(
            f"bucket {name!r} does not exist: run `vitrina-ops provision` first"
        ) from error


async def _listing(store: ObjectStore) -> list[api.ObjectInfo]:
    # Metadata only (about 300 bytes an object); the bytes are fetched one object at a time.
    try:
        infos = await store.list(ignore_deletes=True)
    except NotFoundError:  # what nats-py raises for an empty bucket
        return []
    return sorted((info for info in infos if not info.deleted), key=lambda info: info.name or "")


async def backup_originals(
    js: JetStreamContext, directory: Path, *, verify_existing: bool = False
) -> BackupReport:
    """Copy every original the directory lacks into it, verified; rewrite the manifest.

    ``verify_existing`` re-hashes files already there (slow: reads the whole backup) and
    copies again any that rotted.
    """
    store = await _bucket(js, ORIGINALS_BUCKET.name)
    backup = BackupDir(directory)
    report = BackupReport()
    with backup.locked():
        await asyncio.to_thread(backup.remove_leftovers)
        recorded = await asyncio.to_thread(backup.read_manifest)
        for info in await _listing(store):
            key, size = info.name or "", int(info.size or 0)
            if not is_sha256_key(key):
                report.failed[key] = "not a sha256 key"
                continue
            if await _is_backed_up(backup, key, size, verify_existing):
                report.unchanged += 1
                recorded[key] = size
                continue
            if await asyncio.to_thread(backup.size_of, key) is not None:
                report.repaired += 1
            problem = await _copy(store, backup, key)
            if problem == "vanished":
                report.vanished += 1
            elif problem:
                report.failed[key] = problem
            else:
                report.copied += 1
                report.copied_bytes += size
                recorded[key] = size
        await asyncio.to_thread(backup.write_manifest, ORIGINALS_BUCKET.name, recorded)
    return report


async def _is_backed_up(backup: BackupDir, key: str, size: int, verify: bool) -> bool:
    if await asyncio.to_thread(backup.size_of, key) != size:
        return False
    if not verify:
        return True
    if await asyncio.to_thread(sha256_of_file, backup.path_of(key)) == key:
        return True
    log.warning("backup file does not match its sha256, copying it again", key=key)
    return False


async def _copy(store: ObjectStore, backup: BackupDir, key: str) -> str | None:
    """Stream one object into the backup; None when done, else what went wrong."""
    staged = await asyncio.to_thread(backup.stage, key)
    try:
        await store.get(key, writeinto=staged.writer)
        await asyncio.to_thread(staged.commit)
    except ObjectNotFoundError:
        return "vanished"  # deleted while we listed: nothing to keep
    except (DigestMismatchError, ChecksumMismatchError) as error:
        log.error("original does not match its sha256, not backed up", key=key)  # noqa: TRY400
        return f"sha256 mismatch: {error or 'NATS digest'}"
    finally:
        await asyncio.to_thread(staged.discard)
    return None


async def restore_originals(js: JetStreamContext, directory: Path) -> RestoreReport:
    """Put every verified object of the backup that the bucket lacks back into it.

    A file whose bytes do not hash to its name is reported in ``corrupt`` and never put:
    a wrong file under a right name would be delivered to buyers as their purchase.
    """
    store = await _bucket(js, ORIGINALS_BUCKET.name)
    backup = BackupDir(directory)
    report = RestoreReport()
    with backup.locked():
        stored = set(await asyncio.to_thread(backup.stored_keys))
        recorded = await asyncio.to_thread(backup.read_manifest)
        for key in sorted(stored | set(recorded)):
            if await _in_bucket(store, key):
                report.present += 1
            elif key not in stored:
                report.missing.append(key)
                log.error("original recorded in the manifest but not in the backup", key=key)
            elif (size := await _restore_one(store, backup, key)) is not None:
                report.restored += 1
                report.restored_bytes += size
            else:
                report.corrupt.append(key)
    return report


async def _in_bucket(store: ObjectStore, key: str) -> bool:
    try:
        await store.get_info(key)
    except ObjectNotFoundError:
        return False
    return True


async def _restore_one(store: ObjectStore, backup: BackupDir, key: str) -> int | None:
    """Verify the file, then stream it into the bucket; its size, or None (and nothing put)
    when it is corrupt."""
    path = backup.path_of(key)
    if not is_sha256_key(key) or await asyncio.to_thread(sha256_of_file, path) != key:
        log.error("backup file does not match its sha256, not restored", key=key)
        return None
    source = await asyncio.to_thread(_open_for_reading, path)
    try:
        info = await store.put(key, source)  # read in chunks, never whole
    finally:
        await asyncio.to_thread(source.close)
    if info.digest != nats_digest(key):
        # The file changed between the check and the upload: take the object back out.
        await store.delete(key)
        log.error("backup file changed while restoring, not restored", key=key)
        return None
    return int(info.size or 0)


def _open_for_reading(path: Path) -> io.BufferedReader:
    return path.open("rb")
