"""Exports open in Excel as they should: BOM, ";" cells, quoting, local times, no formulas."""

from __future__ import annotations

import codecs
import csv
import io
from datetime import UTC, datetime
from typing import Any

import pytest

from vitrina_common.db.models import ProductStatus
from vitrina_worker.exports_csv import ExcelCsvWriter, neutralise_formula


def exported(rows: list[list[Any]], header: tuple[str, ...] = ("a", "b")) -> bytes:
    binary = io.BytesIO()
    writer = ExcelCsvWriter(binary, header, "Europe/Moscow")
    writer.write(rows[: len(rows) // 2])
    writer.write(rows[len(rows) // 2 :])
    writer.finish()
    assert writer.rows == len(rows)
    return binary.getvalue()


def read_back(data: bytes) -> list[list[str]]:
    # What a spreadsheet's CSV import does: strip the BOM, split on ";", unquote.
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))


def test_file_starts_with_the_bom_then_the_header_with_crlf_line_ends() -> None:
    data = exported([["1", "2"]])

    assert data.startswith(codecs.BOM_UTF8 + b"a;b\r\n")
    assert data.count(codecs.BOM_UTF8) == 1
    assert data.endswith(b"1;2\r\n")


def test_cells_with_semicolons_quotes_and_newlines_are_quoted_and_come_back_intact() -> None:
    awkward = ["Sea; sky", 'The "Big" wave', "Two\nlines", "Windows\r\nline", "Ёлка и ёж"]

    data = exported([[cell, index] for index, cell in enumerate(awkward)])

    assert b'"Sea; sky"' in data
    assert b'"The ""Big"" wave"' in data
    assert "Ёлка и ёж".encode() in data
    assert read_back(data)[1:] == [[cell, str(index)] for index, cell in enumerate(awkward)]


@pytest.mark.parametrize(
    "cell", ['=HYPERLINK("http://x";"y")', "+7 999", "-1+2", "@SUM(A1)", "\tTab", "\rCR"]
)
def test_cells_excel_would_run_as_formulas_get_a_leading_apostrophe(cell: str) -> None:
    data = exported([[cell, "ok"]])

    assert read_back(data)[1] == ["'" + cell, "ok"]


def test_harmless_text_and_numbers_are_left_alone() -> None:
    assert neutralise_formula("Sunset = calm") == "Sunset = calm"
    assert neutralise_formula("a-b") == "a-b"
    assert read_back(exported([[-5, "x@y.z"]]))[1] == ["-5", "x@y.z"]


def test_database_values_become_readable_cells() -> None:
    moment = datetime(2025, 3, 9, 23, 30, tzinfo=UTC)

    data = exported([[moment, None], [True, ProductStatus.READY]])

    assert read_back(data)[1:] == [["2025-03-10 02:30:00", ""], ["true", "ready"]]


def test_row_count_counts_data_rows_only() -> None:
    rows = [[str(index), "x"] for index in range(2501)]

    data = exported(rows)

    assert len(read_back(data)) == 2502
