"""Spotting values that were decoded with the wrong encoding, row by row.

A file is decoded with one encoding; a line that an earlier program wrote in another one
comes out as replacement characters (UTF-8 file, cp1251 line) or as mojibake (cp1251
file, UTF-8 line: "Р—Р°РєР°С‚" for "Закат"). Either way the row must fail, not import.
"""

from __future__ import annotations

from functools import cache

from vitrina_common.imports.reasons import ImportReason

REPLACEMENT = "\ufffd"


def text_problem(text: str, encoding: str) -> ImportReason | None:
    """Why a row's decoded text cannot be trusted (mixed encodings), or None when it reads
    fine."""
    if REPLACEMENT in text:
        return ImportReason("row_invalid_bytes")
    if text.isascii():
        return None
    # UTF-8 bytes read as a single-byte encoding ("Р—Р°РєР°С‚" for "Закат"): encoding the
    # value back yields valid UTF-8, which real cp1251 or cp1252 text almost never does.
    for codec in dict.fromkeys((encoding, "cp1251", "cp1252")):
        if codec.startswith("utf") or _continuation_chars(codec).isdisjoint(text):
            continue  # every multi-byte UTF-8 character has a continuation byte
        try:
            text.encode(codec).decode("utf-8")
        except UnicodeError:
            continue
        return ImportReason("row_utf8_inside")
    return None


@cache
def _continuation_chars(codec: str) -> frozenset[str]:
    """The characters ``codec`` writes as 0x80-0xBF, UTF-8's continuation bytes."""
    return frozenset(bytes(range(0x80, 0xC0)).decode(codec, errors="ignore"))
