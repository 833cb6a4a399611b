"""Import CSVs become valid rows plus one clear reason per bad row; whole-file problems refuse."""

from __future__ import annotations

import csv
import time

import pytest

from vitrina_common.imports import (
    ImportFileError,
    ImportLimits,
    ImportRow,
    parse_csv,
    parse_header,
    row_key,
)
from vitrina_common.imports.csv_rows import ParsedCsv

HEADER = "title;description;price;category;file"
SUNSET = "Закат над морем;Описание;150;Пейзажи;sunset.jpg"
PRICE_RULE = "price must be a whole number of Stars from 1 to 100000"


def parse(*lines: str, limits: ImportLimits | None = None, encoding: str = "utf-8") -> ParsedCsv:
    return parse_csv(("\n".join(lines) + "\n").encode(encoding), limits)


def reasons(parsed: ParsedCsv) -> dict[int, str]:
    return {error.row_number: error.reason.english() for error in parsed.errors}


def test_russian_excel_row_becomes_an_import_row() -> None:
    parsed = parse(HEADER, SUNSET, encoding="cp1251")

    assert parsed.encoding == "cp1251"
    assert parsed.errors == []
    assert parsed.rows == [
        ImportRow(2, "Закат над морем", "Описание", 150, "Пейзажи", "sunset.jpg")
    ]


@pytest.mark.parametrize("delimiter", [";", ",", "\t"])
def test_semicolon_comma_and_tab_delimiters_are_sniffed(delimiter: str) -> None:
    parsed = parse(
        delimiter.join(["title", "description", "price", "category", "file"]),
        delimiter.join(['"Sunset; over, the sea"', "Calm", "150", "Landscapes", "s.jpg"]),
    )

    assert parsed.delimiter == delimiter
    assert [row.title for row in parsed.rows] == ["Sunset; over, the sea"]


def test_excel_sep_line_sets_the_delimiter_and_is_not_a_row() -> None:
    parsed = parse("sep=,", "title,price,category,file", "Sunset,150,Sea,s.jpg")

    assert parsed.delimiter == ","
    assert [(row.row_number, row.title) for row in parsed.rows] == [(2, "Sunset")]


@pytest.mark.parametrize(
    ("header", "line"),
    [
        ("Название;Описание;Цена;Категория;Имя файла", "Закат;Море;150;Пейзажи;sunset.jpg"),
        ("TITLE;Description;Price (Stars);CATEGORY;File_Name", "Закат;Море;150;Пейзажи;sunset.jpg"),
        ("наименование;описание;стоимость;раздел;файл", "Закат;Море;150;Пейзажи;sunset.jpg"),
        (" File Name ;Category;PRICE;Title;Description", "sunset.jpg;Пейзажи;150;Закат;Море"),
    ],
)
def test_headers_match_in_any_case_in_english_or_russian(header: str, line: str) -> None:
    parsed = parse(header, line)
    assert parsed.rows == [ImportRow(2, "Закат", "Море", 150, "Пейзажи", "sunset.jpg")]


def test_unknown_extra_columns_are_ignored() -> None:
    parsed = parse("notes;title;price;category;file", "in stock;Sunset;150;Sea;s.jpg")
    assert parsed.rows[0].title == "Sunset"


def test_missing_required_columns_refuse_the_file_and_name_them() -> None:
    with pytest.raises(ImportFileError, match="unknown column set") as refused:
        parse("title;description;category", "Sunset;;Sea")
    assert refused.value.reason.arguments["missing"] == "price, file"


def test_a_column_given_twice_refuses_the_file() -> None:
    with pytest.raises(ImportFileError, match="'title' appears twice"):
        parse("title;название;price;category;file", "a;b;1;c;d.jpg")


@pytest.mark.parametrize("price", ["0", "-5", "abc", "1.5", "100001", "1e3", "+5", "١٥٠"])
def test_bad_prices_fail_their_row_with_the_rule(price: str) -> None:
    parsed = parse(HEADER, f"Sunset;;{price};Sea;s.jpg", "Moon;;10;Sky;m.jpg")

    assert reasons(parsed) == {2: f"{PRICE_RULE} (got '{price}')"}
    assert [row.title for row in parsed.rows] == ["Moon"]


@pytest.mark.parametrize(
    ("price", "stars"), [("150", 150), (" 7 ", 7), ("1\u00a0500", 1500), ("150,00", 150)]
)
def test_prices_as_excel_formats_them_are_accepted(price: str, stars: int) -> None:
    parsed = parse(HEADER, f'Sunset;;"{price}";Sea;s.jpg')
    assert [row.price_stars for row in parsed.rows] == [stars]


def test_every_problem_of_a_row_is_reported_at_once() -> None:
    parsed = parse(HEADER, ";;;;", " ;desc; ; ;")

    assert reasons(parsed) == {
        3: "missing title; missing price; missing category; missing file name"
    }


def test_over_long_values_fail_their_row() -> None:
    parsed = parse(
        HEADER,
        f"{'T' * 129};;1;Sea;a.jpg",
        f"Sunset;;1;{'C' * 65};b.jpg",
        f"Sunset;{'d' * 801};1;Sea;c.jpg",
    )

    assert reasons(parsed) == {
        2: "title is longer than 128 characters",
        3: "category is longer than 64 characters",
        4: "description is longer than 800 characters",
    }


def test_category_is_kept_as_given_only_stripped() -> None:
    parsed = parse(HEADER, "Sunset;;1;  Брендовая Категория  ;a.jpg")
    assert parsed.rows[0].category == "Брендовая Категория"


def test_quoted_multiline_description_is_one_row_and_numbering_follows_excel() -> None:
    parsed = parse(HEADER, 'Sunset;"line one\nline two";1;Sea;a.jpg', "", "Moon;;x;Sky;b.jpg")

    assert parsed.rows[0].description == "line one\nline two"
    # Excel shows the two-line cell as row 2 and the blank line as row 3.
    assert reasons(parsed) == {4: f"{PRICE_RULE} (got 'x')"}


def test_more_values_than_columns_fail_the_row_with_a_hint() -> None:
    parsed = parse(HEADER, "Sunset;sea; sky;1;Sea;a.jpg", "Moon;;1;Sky;b.jpg;;")

    assert "has 6 values but the header has 5 columns" in reasons(parsed)[2]
    assert [row.title for row in parsed.rows] == ["Moon"]


def test_duplicate_rows_fail_with_the_row_they_repeat() -> None:
    parsed = parse(
        HEADER,
        "Sunset;;150;Sea;sunset.jpg",
        "Moon;;10;Sky;moon.jpg",
        "Sunset;;150;Sea;sunset.jpg",
        "  SUNSET ;other text;5;sea;SUNSET.JPG",
    )

    assert reasons(parsed) == {
        4: "duplicate of row 2 (the same title, category and file 'sunset.jpg')",
        5: "duplicate of row 2 (the same title, category and file 'SUNSET.JPG')",
    }


def test_one_image_may_be_several_products_under_other_titles_or_categories() -> None:
    parsed = parse(
        HEADER,
        "Sunset;;150;Sea;sunset.jpg",
        "Sunset, large;;300;Sea;sunset.jpg",
        "Sunset;;150;Wallpapers;sunset.jpg",
    )

    assert reasons(parsed) == {}
    assert [row.row_number for row in parsed.rows] == [2, 3, 4]


def test_a_row_repeating_a_failed_row_is_not_called_a_duplicate() -> None:
    parsed = parse(HEADER, "Sunset;;0;Sea;sunset.jpg", "Sunset;;150;Sea;sunset.jpg")

    assert list(reasons(parsed)) == [2]
    assert parsed.rows[0].row_number == 3


def test_ten_megabyte_line_fails_its_row_quickly_without_touching_csv_limits() -> None:
    field_limit = csv.field_size_limit()
    limits = ImportLimits(max_csv_bytes=32 * 1024 * 1024)
    started = time.process_time()  # CPU time: the cost, whatever shares the cores

    parsed = parse(HEADER, "a;" * (5 * 1024 * 1024), "Moon;;10;Sky;m.jpg", limits=limits)

    assert time.process_time() - started < 2.0
    assert reasons(parsed) == {2: "the row is longer than 65536 characters"}
    assert [row.title for row in parsed.rows] == ["Moon"]
    assert csv.field_size_limit() == field_limit


def test_ten_megabyte_file_is_refused_by_default_before_decoding() -> None:
    with pytest.raises(ImportFileError, match=r"10\.0 MB; the limit is 5 MB"):
        parse(HEADER, "x" * (10 * 1024 * 1024))


def test_unclosed_quote_fails_its_row_and_reading_goes_on() -> None:
    limits = ImportLimits(max_rows=100_000)
    filler = "\n".join(["still inside the quote " * 100] * 100)

    parsed = parse(HEADER, f'Sunset;"{filler}', "Moon;;10;Sky;m.jpg", limits=limits)

    assert reasons(parsed)[2].startswith("cannot be read as CSV: field larger than field limit")
    assert [row.title for row in parsed.rows] == ["Moon"]


def test_more_rows_than_the_limit_refuse_the_file() -> None:
    lines = [f"P{n};;1;C;{n}.jpg" for n in range(11)]
    with pytest.raises(ImportFileError, match="more than 10 rows"):
        parse(HEADER, *lines, limits=ImportLimits(max_rows=10))


def test_blank_and_semicolon_only_rows_do_not_count_as_rows() -> None:
    parsed = parse(HEADER, "", ";;;;", "Moon;;10;Sky;m.jpg", limits=ImportLimits(max_rows=1))
    assert [row.row_number for row in parsed.rows] == [4]


def test_row_mixing_encodings_fails_instead_of_importing_mojibake() -> None:
    good = "".join(f"Фото {n};;{n + 1};Природа;p{n}.jpg\n" for n in range(10))
    data = (HEADER + "\n" + good).encode() + "Закат;;5;Пейзажи;s.jpg\n".encode("cp1251")

    parsed = parse_csv(data)

    assert len(parsed.rows) == 10
    assert "mixed encodings" in reasons(parsed)[12]


def test_original_cells_are_kept_for_the_failed_rows_report() -> None:
    parsed = parse(HEADER, "Sunset;;0;Sea;s.jpg")
    assert parsed.original_rows[2] == ["Sunset", "", "0", "Sea", "s.jpg"]
    assert parsed.header == HEADER.split(";")


def test_row_key_is_the_same_for_the_same_product_however_it_is_typed() -> None:
    row = ImportRow(2, "Закат над морем", "", 150, "Пейзажи", "a.jpg")
    retyped = ImportRow(9, "  закат  НАД морем ", "new text", 200, "пейзажи", "b.jpg")
    image = "ab" * 32

    assert row_key(row, image) == row_key(retyped, image.upper())
    assert row_key(row, image) != row_key(row, "cd" * 32)
    assert len(row_key(row, image)) == 64


def test_row_key_does_not_confuse_title_and_category_boundaries() -> None:
    image = "ab" * 32
    left = ImportRow(2, "a|b", "", 1, "c", "x.jpg")
    right = ImportRow(2, "a", "", 1, "b|c", "x.jpg")
    assert row_key(left, image) != row_key(right, image)


def test_header_alone_is_checked_without_reading_rows() -> None:
    data = (HEADER + "\n" + SUNSET.replace("150", "0") + "\n").encode("cp1251")

    parsed = parse_header(data)

    assert (parsed.encoding, parsed.delimiter, parsed.rows, parsed.errors) == (
        "cp1251",
        ";",
        [],
        [],
    )
    with pytest.raises(ImportFileError, match="missing price, file"):
        parse_header("Название;Категория\nЗакат;Море\n".encode("cp1251"))
