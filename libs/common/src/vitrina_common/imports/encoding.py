"""Turning the bytes of a CSV an admin sent into text, whatever program saved it.

Order of evidence, strongest first: a byte order mark; UTF-16 without one (NUL bytes in
every other position); UTF-8 (strict, or mostly valid with a few foreign lines); then the
single-byte encodings Excel and older tools write, scored by how much the decoded text
looks like words (see ``plausibility``). charset-normalizer is one voice among these:
on its own it reads Russian cp1251 as mac_cyrillic or cp932 (the lowercase letters are
the same bytes in cp1251 and mac_cyrillic; only capitals differ), so its guess only tips
close calls and covers scripts our candidates do not know.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from charset_normalizer import from_bytes

from vitrina_common.imports.model import ImportFileError
from vitrina_common.imports.mojibake import REPLACEMENT
from vitrina_common.imports.plausibility import plausibility
from vitrina_common.imports.reasons import ImportReason

# Most likely first: ties go to the earlier one (a Russian shop's Excel writes cp1251).
SINGLE_BYTE_CANDIDATES = ("cp1251", "cp1252", "koi8_r", "mac_cyrillic", "latin_1")
_BOMS = (  # UTF-32 first: its little-endian BOM starts with UTF-16's.
    (codecs.BOM_UTF32_LE, "utf_32_le"),
    (codecs.BOM_UTF32_BE, "utf_32_be"),
    (codecs.BOM_UTF8, "utf_8_sig"),
    (codecs.BOM_UTF16_LE, "utf_16_le"),
    (codecs.BOM_UTF16_BE, "utf_16_be"),
)
_MAGIC = (  # Files admins send by mistake instead of a CSV.
    (b"PK\x03\x04", ImportReason("csv_is_zip_or_xlsx")),
    (b"\xd0\xcf\x11\xe0", ImportReason("csv_is_xls")),
    (b"%PDF", ImportReason("csv_is_pdf")),
)
# Bytes other than tab, LF, CR (and form feed / Ctrl-Z some tools append) never occur in
# text; more than this share of them means a binary file.
_CONTROL_BYTES = frozenset(set(range(32)) - {9, 10, 12, 13, 26})
_MAX_CONTROL_SHARE = 0.01
# charset-normalizer's pick gets this bonus: about one letter's worth, enough to settle a
# tie, too little to outvote capitals that read as letters in one codec only.
_NORMALIZER_BONUS = 0.5
_HIGH_BYTES = bytes(range(128, 256))
# Tens of thousands of letters settle an encoding; scoring more only costs time.
_SAMPLE_HEAD = 64 * 1024
_SAMPLE_TAIL = 16 * 1024
# Scores per non-ASCII byte of the best reading. Russian read right scores about 0.45;
# below _WEAK (with enough bytes to judge) it is probably another script altogether, and
# below _IMPLAUSIBLE no reading is text at all.
_MIN_EVIDENCE = 16
_WEAK = 0.1
_IMPLAUSIBLE = -0.5


@dataclass(frozen=True)
class DecodedText:
    """A CSV's text (without BOM) and the codec it was decoded with.

    ``encoding`` is Python's canonical codec name: ``utf-8``, ``utf-8-sig`` (with BOM),
    ``utf-16-le``, ``cp1251``, ``koi8-r``, ``mac-cyrillic``, ``iso8859-1``…
    """

    text: str
    encoding: str


def decode_csv_bytes(data: bytes) -> DecodedText:
    """Decode a CSV file, or raise ``ImportFileError`` saying why it is not text.

    A file that is mostly UTF-8 with a few lines in another encoding decodes as UTF-8 with
    U+FFFD where those lines were: the rows holding them fail one by one instead of
    importing mojibake (see ``mojibake.text_problem``).
    """
    if not data.strip():
        raise ImportFileError(ImportReason("csv_empty"))
    for magic, reason in _MAGIC:
        if data.startswith(magic):
            raise ImportFileError(reason)
    decoded = _by_bom(data) or _utf16_without_bom(data)
    if decoded is not None:
        return decoded
    _refuse_binary(data)
    return _utf8(data) or _best_single_byte(data)


def _by_bom(data: bytes) -> DecodedText | None:
    for bom, codec in _BOMS:
        if data.startswith(bom):
            body = data if codec == "utf_8_sig" else data[len(bom) :]
            try:
                return _decoded(body, codec)
            except UnicodeDecodeError as error:
                name = _codec_name(codec).upper().removesuffix("-SIG")
                reason = ImportReason("csv_bom_mismatch", {"encoding": name})
                raise ImportFileError(reason) from error
    return None


def _utf16_without_bom(data: bytes) -> DecodedText | None:
    # ASCII delimiters, digits and newlines put a NUL in every other byte of UTF-16.
    if len(data) % 2 or b"\x00" not in data:
        return None
    even_nuls, odd_nuls = data[0::2].count(0), data[1::2].count(0)
    codec = "utf_16_le" if odd_nuls > 4 * even_nuls else None
    codec = "utf_16_be" if even_nuls > 4 * odd_nuls else codec
    if codec is None or max(even_nuls, odd_nuls) < len(data) // 8:
        return None
    try:
        return _decoded(data, codec)
    except UnicodeDecodeError:
        return None


def _refuse_binary(data: bytes) -> None:
    if b"\x00" in data:
        raise ImportFileError(ImportReason("csv_has_nul_bytes"))
    sample = data[: 1024 * 1024]
    controls = sum(sample.count(byte) for byte in _CONTROL_BYTES)
    if controls > _MAX_CONTROL_SHARE * len(sample):
        raise ImportFileError(ImportReason("csv_binary"))


def _utf8(data: bytes) -> DecodedText | None:
    try:
        return _decoded(data, "utf_8")
    except UnicodeDecodeError:
        pass
    # Mixed file: keep UTF-8 when its valid multi-byte characters outnumber the broken
    # ones. Russian cp1251 bytes almost never form valid UTF-8, so a real cp1251 file has
    # next to no valid sequences and falls through to the single-byte candidates.
    text = data.decode("utf-8", errors="replace")
    broken = text.count(REPLACEMENT)
    valid = len(text) - len(text.encode("ascii", errors="ignore")) - broken
    return DecodedText(text, "utf-8") if valid > broken else None


def _best_single_byte(data: bytes) -> DecodedText:
    sample = _sample(data)
    guess = _normalizer_guess(sample)
    ranked = _ranked(sample, guess)
    high = _count_high(sample)
    if high >= _MIN_EVIDENCE and ranked[0][0] < _WEAK * high:
        foreign = _foreign_guess(data, guess)
        if foreign is not None:
            return foreign
        if ranked[0][0] < _IMPLAUSIBLE * high:
            raise ImportFileError(ImportReason("csv_encoding_unknown"))
    for _, codec in ranked:
        try:
            return _decoded(data, codec)
        except UnicodeDecodeError:  # a byte past the sample that this codec lacks
            continue
    return _decoded(data, "latin_1")


def _sample(data: bytes) -> bytes:
    """What the candidates are judged on: the lines that need a single-byte encoding.

    Lines that are valid UTF-8 are left out: in a mixed file they are the foreign lines
    (rejected row by row later) and would only blur the verdict on the others. A big file
    is judged by its head and tail, as scoring is pure Python.
    """
    if len(data) > _SAMPLE_HEAD + _SAMPLE_TAIL:
        data = data[:_SAMPLE_HEAD] + b"\n" + data[-_SAMPLE_TAIL:]
    return b"\n".join(line for line in data.split(b"\n") if not _is_utf8_text(line))


def _is_utf8_text(line: bytes) -> bool:
    if line.isascii():
        return False
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _ranked(sample: bytes, guess: str | None) -> list[tuple[float, str]]:
    """Candidates that decode ``sample``, best score first (ties: likelier codec first)."""
    seen: set[str] = set()
    scored: list[tuple[float, int, str]] = []
    for rank, codec in enumerate(SINGLE_BYTE_CANDIDATES):
        try:
            text = sample.decode(codec)
        except UnicodeDecodeError:
            continue
        if text in seen:  # same text as a likelier codec: the likelier name stands
            continue
        seen.add(text)
        score = plausibility(text) + (_NORMALIZER_BONUS if _codec_name(codec) == guess else 0.0)
        scored.append((score, -rank, codec))
    scored.sort(reverse=True)
    return [(score, codec) for score, _, codec in scored]


def _count_high(data: bytes) -> int:
    return len(data) - len(data.translate(None, _HIGH_BYTES))


def _normalizer_guess(data: bytes) -> str | None:
    match = from_bytes(data).best()
    if match is None:
        return None
    return _codec_name(match.encoding)


def _foreign_guess(data: bytes, guess: str | None) -> DecodedText | None:
    # No Cyrillic or Latin reading looks like words: trust charset-normalizer with the
    # scripts it knows and we do not (Greek, Chinese, Japanese…), if its codec fits.
    if guess is None or guess in map(_codec_name, SINGLE_BYTE_CANDIDATES):
        return None
    try:
        return _decoded(data, guess)
    except UnicodeDecodeError:
        return None


def _decoded(data: bytes, codec: str) -> DecodedText:
    return DecodedText(data.decode(codec), _codec_name(codec))


def _codec_name(encoding: str) -> str:
    # One spelling per codec: charset-normalizer says "latin_1", codecs says "iso8859-1".
    return codecs.lookup(encoding).name
