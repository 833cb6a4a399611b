"""Counting a ZIP's entries before ``zipfile`` parses them.

``zipfile`` builds an object per central-directory record, however many the directory
holds; the entry count in the end record is not what it loops on, so it can lie. Walking
the records here (a few bytes each, stopping past the limit) bounds that work up front.

The ZIP is any buffer with slicing and ``rfind``: bytes, or an ``mmap`` of the file on disk,
of which only the pages holding the directory are ever read.
"""

from __future__ import annotations

import mmap
import struct

from vitrina_common.imports.model import ImportFileError
from vitrina_common.imports.reasons import ImportReason

_END = struct.Struct("<4s4H2LH")  # end of central directory record
_END64 = struct.Struct("<4sQ2H2L4Q")  # ZIP64 end of central directory record
_END64_LOCATOR_SIZE = 20
# One central directory record up to its name; fields 12-14 are the name, extra field and
# comment lengths that follow it.
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_MAX_COMMENT = 65_535


ZipBuffer = bytes | mmap.mmap


def _has(data: ZipBuffer, position: int, signature: bytes) -> bool:
    # startswith(signature, position), which mmap lacks.
    return position >= 0 and data[position : position + len(signature)] == signature


def count_entries(data: ZipBuffer, stop_after: int) -> int:
    """Records in the central directory, counting no further than ``stop_after`` + 1.

    Finds the directory the way ``zipfile`` does (the last end record, ZIP64 when its
    locator precedes it, the directory right before), so both see the same records.
    """
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - _END.size - _MAX_COMMENT))
    if end < 0 or end + _END.size > len(data):
        raise ImportFileError(ImportReason("not_a_zip"))
    directory_size = _END.unpack_from(data, end)[5]
    directory_end = end
    record = end - _END64_LOCATOR_SIZE - _END64.size
    locator = data[end - _END64_LOCATOR_SIZE : end]
    if record >= 0 and locator.startswith(b"PK\x06\x07") and _has(data, record, b"PK\x06\x06"):
        directory_size = _END64.unpack_from(data, record)[8]
        directory_end = record
    position = directory_end - directory_size
    if position < 0:
        raise ImportFileError(ImportReason("zip_directory_damaged"))
    count = 0
    while count <= stop_after and position + _CENTRAL.size <= directory_end:
        if not _has(data, position, b"PK\x01\x02"):
            break
        name, extra, comment = _CENTRAL.unpack_from(data, position)[12:15]
        position += _CENTRAL.size + name + extra + comment
        count += 1
    return count
