"""A directory holding a verified, content-addressed copy of a bucket (a mounted volume).

Layout, under the directory given to ``vitrina-ops``::

    objects/ab/ab12…ef      one file per object, named by its sha256 (sharded by 2 hex digits)
    manifest.json           every object the copy holds, with its size (rewritten per run)
    .lock                   held while a backup or a restore runs

A file appears under its final name only once all its bytes are written, synced and their
sha256 checked against the name (temp file + rename), so a crash or a full disk never
leaves a short file that looks complete; later runs simply copy it again.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import os
import re
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

MANIFEST_FORMAT = "vitrina-originals-backup/1"
SHA256_KEY = re.compile(r"[0-9a-f]{64}")
_PART_SUFFIX = ".part"
_READ_CHUNK = 1024 * 1024


class BackupBusyError(RuntimeError):
    """Another backup or restore holds this directory."""


class ManifestError(ValueError):
    """The directory's manifest is not one this code wrote."""


class ChecksumMismatchError(ValueError):
    """Bytes whose sha256 is not the one their name promises."""


def is_sha256_key(key: str) -> bool:
    """Whether ``key`` is a lowercase hex sha256, as every original's key is."""
    return SHA256_KEY.fullmatch(key) is not None


def sha256_of_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MB chunks (never whole)."""
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(_READ_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class HashingWriter(io.BufferedIOBase):
    """Writes through to a file and hashes what passes, so bytes are checked as they land."""

    def __init__(self, target: IO[bytes]) -> None:
        super().__init__()
        self._target = target
        self._digest = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        """Always: this is a sink."""
        return True

    def write(self, data: Any) -> int:
        """Hash and write ``data``; returns its length."""
        chunk = bytes(data)
        self._digest.update(chunk)
        self.size += len(chunk)
        self._target.write(chunk)
        return len(chunk)

    def hexdigest(self) -> str:
        """Hex sha256 of everything written so far."""
        return self._digest.hexdigest()


class StagedObject:
    """An object being written under a temporary name; ``commit`` checks and publishes it."""

    def __init__(self, final: Path) -> None:
        self.final = final
        final.parent.mkdir(parents=True, exist_ok=True)
        # mkstemp, not a fixed name: a leftover of a killed run never collides.
        fd, name = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=_PART_SUFFIX)
        self._path = Path(name)
        self._file = os.fdopen(fd, "wb")
        self.writer = HashingWriter(self._file)

    def commit(self) -> None:
        """Sync, verify the sha256 against the final name, then rename into place."""
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        actual = self.writer.hexdigest()
        if actual != self.final.name:
            raise ChecksumMismatchError(f"sha256 {actual}, expected {self.final.name}")
        self._path.replace(self.final)
        _fsync_directory(self.final.parent)

    def discard(self) -> None:
        """Drop the temporary file (after a failure); a no-op after ``commit``."""
        self._file.close()
        self._path.unlink(missing_ok=True)


def _fsync_directory(path: Path) -> None:
    # The rename is durable only once the directory entry is on disk too.
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class BackupDir:
    """The on-disk layout of one backup; all methods are blocking (call them in a thread)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.objects = root / "objects"
        self.manifest_path = root / "manifest.json"

    def path_of(self, key: str) -> Path:
        """Where the object ``key`` is (or would be) stored."""
        return self.objects / key[:2] / key

    def size_of(self, key: str) -> int | None:
        """The stored object's size, or None when it is not in the backup."""
        try:
            return self.path_of(key).stat().st_size
        except FileNotFoundError:
            return None

    def stored_keys(self) -> list[str]:
        """Every object file present, sorted (temporary files excluded)."""
        if not self.objects.is_dir():
            return []
        return sorted(
            path.name
            for path in self.objects.glob("*/*")
            if path.is_file() and not path.name.startswith(".")
        )

    def stage(self, key: str) -> StagedObject:
        """A temporary file that becomes object ``key`` once committed."""
        return StagedObject(self.path_of(key))

    def remove_leftovers(self) -> int:
        """Delete temporary files of runs that were killed; how many there were."""
        leftovers = list(self.objects.glob(f"*/.*{_PART_SUFFIX}")) if self.objects.is_dir() else []
        for path in leftovers:
            path.unlink(missing_ok=True)
        return len(leftovers)

    def read_manifest(self) -> dict[str, int]:
        """Key → size of every object the last run recorded; empty before the first run."""
        try:
            document = json.loads(self.manifest_path.read_text())
        except FileNotFoundError:
            return {}
        if document.get("format") != MANIFEST_FORMAT:
            raise ManifestError(f"{self.manifest_path} is not a {MANIFEST_FORMAT} manifest")
        return {str(key): int(size) for key, size in document["objects"].items()}

    def write_manifest(self, bucket: str, objects: dict[str, int]) -> None:
        """Replace the manifest atomically (a reader sees the old one or the new one)."""
        document = {
            "format": MANIFEST_FORMAT,
            "bucket": bucket,
            "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "count": len(objects),
            "bytes": sum(objects.values()),
            "objects": dict(sorted(objects.items())),
        }
        self.root.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.root, prefix=".manifest.", suffix=_PART_SUFFIX)
        with os.fdopen(fd, "w") as target:
            json.dump(document, target, indent=1)
            target.flush()
            os.fsync(target.fileno())
        Path(name).replace(self.manifest_path)
        _fsync_directory(self.root)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the directory's lock; ``BackupBusyError`` when another run holds it."""
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".lock").open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as error:
                busy = f"{self.root} is in use by another backup or restore"
                raise BackupBusyError(busy) from error
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
