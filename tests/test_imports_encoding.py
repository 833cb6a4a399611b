"""CSV bytes from whatever program the admin used become the right text, or a clear refusal."""

from __future__ import annotations

import codecs
import time

import pytest
from charset_normalizer import from_bytes

from vitrina_common.imports import ImportFileError, ImportReason, decode_csv_bytes
from vitrina_common.imports.mojibake import text_problem

HEADER = "title;description;price;category;file\n"
RUSSIAN_ROW = "Закат над морем;Описание;150;Пейзажи;sunset.jpg\n"
RUSSIAN = HEADER + RUSSIAN_ROW
RUSSIAN_SAMPLES = [
    RUSSIAN,
    "Название;Описание;Цена;Категория;Файл\n" + RUSSIAN_ROW,
    "НАЗВАНИЕ;ЦЕНА;КАТЕГОРИЯ;ФАЙЛ\nЗАКАТ;10;ПЕЙЗАЖИ;a.jpg\n",
    HEADER + "Яблоня в цвету;«Весна» — №1;90;Сад;apple.jpg\n",
    HEADER + "Мёд;;10;Еда;honey.jpg\n",
    "Назва;Опис;Ціна;Категорія;Файл\nЇжак у тумані;Гарний краєвид;100;Казки;hedgehog.jpg\n",
]


def test_utf8_without_bom_is_read_as_utf8() -> None:
    decoded = decode_csv_bytes(RUSSIAN.encode())
    assert (decoded.text, decoded.encoding) == (RUSSIAN, "utf-8")


def test_utf8_bom_is_recognised_and_stripped() -> None:
    decoded = decode_csv_bytes(codecs.BOM_UTF8 + RUSSIAN.encode())
    assert (decoded.text, decoded.encoding) == (RUSSIAN, "utf-8-sig")


@pytest.mark.parametrize(
    ("bom", "codec"),
    [
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
    ],
)
def test_utf16_and_utf32_with_bom_are_read_by_their_bom(bom: bytes, codec: str) -> None:
    decoded = decode_csv_bytes(bom + RUSSIAN.encode(codec))
    assert (decoded.text, decoded.encoding) == (RUSSIAN, codec)


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_recognised_by_its_nul_bytes(codec: str) -> None:
    decoded = decode_csv_bytes(RUSSIAN.encode(codec))
    assert (decoded.text, decoded.encoding) == (RUSSIAN, codec)


@pytest.mark.parametrize("text", RUSSIAN_SAMPLES)
def test_excel_cp1251_russian_is_detected_as_cp1251_not_a_mac_encoding(text: str) -> None:
    decoded = decode_csv_bytes(text.encode("cp1251"))
    assert decoded.encoding == "cp1251"
    assert decoded.text == text


def test_charset_normalizer_alone_misreads_the_excel_russian_we_read_right() -> None:
    # The trap this module exists for, measured on charset-normalizer 3.5: if this starts
    # failing, the library learnt cp1251 and our scoring could become a simpler check.
    matches = [from_bytes(text.encode("cp1251")).best() for text in RUSSIAN_SAMPLES]
    guesses = {match.encoding for match in matches if match is not None}
    assert guesses - {"cp1251"}, "charset-normalizer now reads all of them right"


@pytest.mark.parametrize("text", RUSSIAN_SAMPLES[:3])
def test_koi8r_russian_is_detected_as_koi8r(text: str) -> None:
    decoded = decode_csv_bytes(text.encode("koi8_r"))
    assert (decoded.text, decoded.encoding) == (text, "koi8-r")


@pytest.mark.parametrize(
    "text",
    [
        "titre;prix\nCafé crème;10\nCrème brûlée à la française;5\n",
        "Titel;Preis\nGrüße aus München – 5 €;10\n",
    ],
)
def test_western_european_cp1252_is_not_mistaken_for_cyrillic(text: str) -> None:
    decoded = decode_csv_bytes(text.encode("cp1252"))
    assert (decoded.text, decoded.encoding) == (text, "cp1252")


def test_utf8_file_with_one_cp1251_line_stays_utf8_and_marks_that_line() -> None:
    good = "".join(f"Фото {n};Горы и реки;{n + 1};Природа;p{n}.jpg\n" for n in range(10))
    data = (HEADER + good).encode() + RUSSIAN_ROW.encode("cp1251")

    decoded = decode_csv_bytes(data)

    assert decoded.encoding == "utf-8"
    *clean, foreign = decoded.text.splitlines()
    assert all(text_problem(line, decoded.encoding) is None for line in clean)
    assert text_problem(foreign, decoded.encoding) == ImportReason("row_invalid_bytes")


def test_cp1251_file_with_one_utf8_line_stays_cp1251_and_marks_that_line() -> None:
    good = "".join(f"Фото {n};Горы и реки;{n + 1};Природа;p{n}.jpg\n" for n in range(3))
    data = (HEADER + good).encode("cp1251") + RUSSIAN_ROW.encode()

    decoded = decode_csv_bytes(data)

    assert decoded.encoding == "cp1251"
    *clean, foreign = decoded.text.splitlines()
    assert clean[1].startswith("Фото 0")
    assert all(text_problem(line, decoded.encoding) is None for line in clean)
    assert text_problem(foreign, decoded.encoding) == ImportReason("row_utf8_inside")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b" \r\n", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "NUL bytes"),
        (bytes(range(1, 32)) * 10 + b"title;price", "binary"),
        (b"PK\x03\x04\x14\x00\x06\x00[Content_Types].xml", ".xlsx"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", ".xls"),
    ],
)
def test_empty_binary_and_spreadsheet_files_are_refused_with_a_reason(
    data: bytes, reason: str
) -> None:
    with pytest.raises(ImportFileError, match=reason.replace(".", r"\.")):
        decode_csv_bytes(data)


def test_bom_followed_by_invalid_text_is_refused() -> None:
    with pytest.raises(ImportFileError, match="UTF-8 byte order mark"):
        decode_csv_bytes(codecs.BOM_UTF8 + "Закат".encode("cp1251"))


def test_five_megabytes_of_cp1251_are_judged_on_a_sample_and_decode_fast() -> None:
    rows = "".join(
        f"Закат над морем {n};Описание заката;{n % 999 + 1};Пейзажи;{n}.jpg\n"
        for n in range(80_000)
    )
    data = (HEADER + rows).encode("cp1251")
    # CPU time: what decoding costs, whatever else shares the machine's cores.
    started = time.process_time()

    decoded = decode_csv_bytes(data)

    assert decoded.encoding == "cp1251"
    assert time.process_time() - started < 2.0
