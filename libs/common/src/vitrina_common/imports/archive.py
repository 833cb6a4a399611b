"""Reading the ZIP of images an admin sent, trusting nothing it says about itself.

Sizes are judged from the central directory when the ZIP is opened and enforced again
while an entry is read, chunk by chunk, since the directory can lie. The ZIP is bytes or a
file on disk (the bot and the worker spool large ones there rather than hold them in
memory); no entry is ever extracted to disk, so a name like ``../evil.jpg`` could not escape
anywhere; such entries are refused anyway, because a ZIP carrying them was made to attack
someone.
"""

from __future__ import annotations

import io
import lzma
import mmap
import re
import unicodedata
import zipfile
import zlib
from collections import defaultdict
from pathlib import Path
from typing import Self

from vitrina_common.imports.model import MIB, EntryError, ImportFileError, ImportLimits
from vitrina_common.imports.reasons import ImportReason, ReasonArguments
from vitrina_common.imports.zip_directory import count_entries

_CHUNK = MIB
# Folders, macOS resource forks, thumbnails caches: silently skipped.
_JUNK = ImportReason("junk")
UNSAFE_PATH = ImportReason("unsafe_path")
_JUNK_NAMES = frozenset({".ds_store", "thumbs.db", "desktop.ini"})
_SUPPORTED = frozenset(
    {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
)
_UTF8_NAMES = 0x800  # general purpose flag: the name is UTF-8
_ENCRYPTED = 0x1
_DRIVE = re.compile(r"[a-z]:", re.IGNORECASE)
_CSV_SUFFIXES = (".csv", ".tsv")
# What can go wrong decompressing a damaged or hostile entry.
# NotImplementedError: a feature flag or version zipfile lacks; RuntimeError: encryption
# the local header claims and the directory did not.
_DAMAGED = (
    zipfile.BadZipFile,
    zlib.error,
    lzma.LZMAError,
    EOFError,
    OSError,
    ValueError,
    NotImplementedError,
    RuntimeError,
)


class ImageArchive:
    """The usable entries of a ZIP, found the way admins name them in the CSV."""

    def __init__(self, zip_file: zipfile.ZipFile, limits: ImportLimits) -> None:
        """Sort the ZIP's entries into usable, refused and junk (see ``open_archive``)."""
        self._zip = zip_file
        self._limits = limits
        self._entries: dict[str, zipfile.ZipInfo] = {}
        self._refused: dict[str, ImportReason] = {}
        self._by_base: defaultdict[str, list[str]] = defaultdict(list)
        keys: set[str] = set()
        for info in zip_file.infolist():
            name = _entry_name(info)
            problem = _entry_problem(name, info)
            if problem is None and _key(name) in keys:
                problem = ImportReason("entry_name_twice")
            if problem is None:
                keys.add(_key(name))
                self._entries[name] = info
                self._by_base[_base(name)].append(name)
            elif problem != _JUNK:
                self._refused[name] = problem

    def names(self) -> list[str]:
        """The usable entries (files with safe paths, junk and folders left out)."""
        return list(self._entries)

    def refused(self) -> dict[str, ImportReason]:
        """Entries that cannot be used, with the reason (e.g. ``UNSAFE_PATH``)."""
        return dict(self._refused)

    def size(self, name: str) -> int:
        """An entry's uncompressed size as the ZIP's directory states it."""
        return self._info(name).file_size

    def read(self, name: str, max_bytes: int | None = None) -> bytes:
        """An entry's bytes, at most ``max_bytes`` (default: the image limit).

        Raises ``EntryError`` when the entry is unknown, too large or damaged.
        """
        info = self._info(name)
        cap = max_bytes or self._limits.max_image_bytes
        if info.file_size > cap:
            raise EntryError(
                ImportReason("entry_too_large", {"entry": name, "limit_mb": _megabytes(cap)})
            )
        try:
            return _read_bounded(self._zip, info, name)
        except _DAMAGED as error:
            reason = ImportReason("entry_damaged", {"entry": name, "error": str(error)})
            raise EntryError(reason) from error

    def locate(self, file_name: str) -> str:
        """The entry a CSV's file name means, or ``EntryError`` saying why there is none.

        Case-insensitive; tried in order: the same path, an entry whose path ends with
        it (the admin zipped the parent folder), the same base name anywhere.
        """
        key = _key(file_name)
        candidates = self._by_base.get(_base(key), [])
        for matches in (
            [name for name in candidates if _key(name) == key],
            [name for name in candidates if _key(name).endswith("/" + key)],
            candidates,
        ):
            if len(matches) == 1:
                return matches[0]
            if matches:
                listed = ", ".join(sorted(matches)[:5])
                raise EntryError(
                    ImportReason("image_ambiguous", {"file": file_name, "matches": listed})
                )
        raise EntryError(self._missing_reason(file_name))

    def close(self) -> None:
        """Release the ZIP."""
        self._zip.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _info(self, name: str) -> zipfile.ZipInfo:
        info = self._entries.get(name)
        if info is None:
            raise EntryError(ImportReason("entry_missing", {"entry": name}))
        return info

    def _missing_reason(self, file_name: str) -> ImportReason:
        base = _base(file_name)
        for name, reason in self._refused.items():
            if _base(name) == base:
                arguments: ReasonArguments = {"file": file_name, "entry": name, "problem": reason}
                return ImportReason("image_refused", arguments)
        return ImportReason("image_missing", {"file": file_name})


ZipSource = bytes | Path


def open_archive(source: ZipSource, limits: ImportLimits | None = None) -> ImageArchive:
    """Open an import ZIP (its bytes, or the path of the file), or raise ``ImportFileError``
    when the whole ZIP is refused.

    Refused: not a ZIP; more than ``max_zip_entries`` entries; any usable entry over
    ``max_image_bytes`` or all of them over ``max_zip_total_bytes`` uncompressed. Unsafe
    or password-protected entries are refused one by one (``refused()``).
    """
    limits = limits or ImportLimits()
    if _count_entries(source, limits.max_zip_entries) > limits.max_zip_entries:
        raise ImportFileError(ImportReason("zip_too_many_files", {"limit": limits.max_zip_entries}))
    try:
        # From a path, zipfile reads the directory and each entry from the file as needed.
        zip_file = zipfile.ZipFile(source if isinstance(source, Path) else io.BytesIO(source))
    except _DAMAGED as error:
        reason = ImportReason("zip_unreadable", {"error": str(error)})
        raise ImportFileError(reason) from error
    archive = ImageArchive(zip_file, limits)
    try:
        _check_sizes(archive, limits)
    except ImportFileError:
        archive.close()
        raise
    return archive


def _count_entries(source: ZipSource, stop_after: int) -> int:
    if isinstance(source, bytes):
        return count_entries(source, stop_after)
    with source.open("rb") as file:
        if not file.seek(0, io.SEEK_END):
            raise ImportFileError(ImportReason("not_a_zip"))  # mmap refuses empty files
        # Mapped, not read: only the pages of the end record and the directory are touched.
        with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as view:
            return count_entries(view, stop_after)


def find_csv(archive: ImageArchive) -> str:
    """The one CSV in a ZIP that carries both the CSV and the images."""
    found = [name for name in archive.names() if name.casefold().endswith(_CSV_SUFFIXES)]
    if not found:
        raise ImportFileError(ImportReason("zip_without_csv"))
    if len(found) > 1:
        listed = ", ".join(sorted(found))
        raise ImportFileError(ImportReason("zip_with_several_csv", {"files": listed}))
    return found[0]


def refuse_unsafe_paths(archive: ImageArchive) -> None:
    """Refuse the whole ZIP when any entry has an unsafe path (``../x``, ``/x``, ``C:x``).

    ``open_archive`` only sets such entries aside. An import refuses the ZIP they came in:
    no archiver an admin uses writes them, so someone made this one to attack.
    """
    unsafe = sorted(name for name, reason in archive.refused().items() if reason == UNSAFE_PATH)
    if unsafe:
        listed = ", ".join(f"'{name}'" for name in unsafe[:3])
        raise ImportFileError(ImportReason("zip_unsafe_paths", {"files": listed}))


def _check_sizes(archive: ImageArchive, limits: ImportLimits) -> None:
    total = 0
    for name in archive.names():
        size = archive.size(name)
        if size > limits.max_image_bytes:
            limit = _megabytes(limits.max_image_bytes)
            arguments = {"entry": name, "size_mb": _megabytes(size), "limit_mb": limit}
            raise ImportFileError(ImportReason("zip_entry_too_large", arguments))
        total += size
    if total > limits.max_zip_total_bytes:
        limit = _megabytes(limits.max_zip_total_bytes)
        arguments = {"size_mb": _megabytes(total), "limit_mb": limit}
        raise ImportFileError(ImportReason("zip_too_large", arguments))


def _read_bounded(zip_file: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> bytes:
    # Chunk by chunk, never past the size the directory stated (and the limits checked):
    # a lying directory costs at most one chunk more.
    chunks: list[bytes] = []
    size = 0
    with zip_file.open(info) as stream:
        while chunk := stream.read(_CHUNK):
            size += len(chunk)
            if size > info.file_size:
                raise EntryError(ImportReason("entry_larger_than_stated", {"entry": name}))
            chunks.append(chunk)
    return b"".join(chunks)


def _entry_name(info: zipfile.ZipInfo) -> str:
    # Without the UTF-8 flag zipfile reads names as cp437. Most tools wrote UTF-8 anyway;
    # Windows' own "Send to ZIP" on a Russian system writes cp866.
    name = info.filename
    if info.flag_bits & _UTF8_NAMES or name.isascii():
        return name
    raw = name.encode("cp437")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp866")


def _entry_problem(name: str, info: zipfile.ZipInfo) -> ImportReason | None:
    """Why an entry is not used: ``_JUNK`` (skipped quietly) or a reason for the admin."""
    path = name.replace("\\", "/")
    parts = path.split("/")
    junk = (
        path.endswith("/")  # a folder
        or "__macosx" in (part.casefold() for part in parts)
        or parts[-1].casefold() in _JUNK_NAMES
        or parts[-1].startswith("._")  # macOS AppleDouble companions
    )
    unsafe = (
        not path
        or path.startswith("/")
        or _DRIVE.match(path) is not None
        or ".." in parts
        or any(ord(char) < 32 for char in name)
    )
    problems = (
        (junk, _JUNK),
        (unsafe, UNSAFE_PATH),
        (bool(info.flag_bits & _ENCRYPTED), ImportReason("entry_encrypted")),
        (info.compress_type not in _SUPPORTED, ImportReason("entry_compression_unsupported")),
    )
    return next((reason for applies, reason in problems if applies), None)


def _key(name: str) -> str:
    """How names compare: case-insensitive, composed Unicode, "/" between folders."""
    path = unicodedata.normalize("NFC", name.strip()).replace("\\", "/").casefold()
    return path.removeprefix("./").lstrip("/")


def _base(name: str) -> str:
    return _key(name).rsplit("/", 1)[-1]


def _megabytes(size: int) -> str:
    # The catalogs write the unit: "5.0 MB", "5.0 МБ".
    return f"{size / MIB:.1f}"
