"""Reading an import CSV into valid rows and per-row errors.

Rows are numbered like Excel numbers them (the header is row 1), blank rows included, so
"row 7" in a reply is row 7 on the admin's screen.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field

from vitrina_common.imports.encoding import decode_csv_bytes
from vitrina_common.imports.fields import validate_row
from vitrina_common.imports.model import (
    MIB,
    ImportFileError,
    ImportLimits,
    ImportRow,
    RowError,
    same_product,
)
from vitrina_common.imports.mojibake import text_problem
from vitrina_common.imports.reasons import ImportReason, ReasonArguments

REQUIRED_COLUMNS = ("title", "price", "category", "file")
_ALIASES = {
    "title": ("title", "product", "название", "наименование", "заголовок"),
    "description": ("description", "описание"),
    "price": ("price", "price stars", "stars", "цена", "стоимость"),
    "category": ("category", "категория", "раздел"),
    "file": ("file", "file name", "filename", "image", "файл", "имя файла", "изображение"),
}
_COLUMN_BY_ALIAS = {alias: column for column, names in _ALIASES.items() for alias in names}
# Ties between delimiters go to the first: Russian Excel writes ";".
_DELIMITERS = (";", ",", "\t")
# Excel's own hint on the first line ("sep=;"); Excel hides the line, so do we.
_SEP_LINE = re.compile(r"sep=(.)\r?\n?", re.IGNORECASE)
# One physical line, its end included; never matches empty except at the very end.
_LINE = re.compile(r"[^\r\n]*(?:\r\n?|\n)?")


@dataclass
class ParsedCsv:
    """Everything read from one CSV: valid rows, failed rows, and what the file looked like."""

    rows: list[ImportRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    # Every data row's cells as read, by row number: the failed-rows report repeats them.
    original_rows: dict[int, list[str]] = field(default_factory=dict)
    encoding: str = ""
    delimiter: str = ";"


def parse_csv(data: bytes, limits: ImportLimits | None = None) -> ParsedCsv:
    """Decode and validate an import CSV; raises ``ImportFileError`` for the whole file.

    The file is refused when it is too big, not text, has no header naming the title,
    price, category and file columns, or has more than ``max_rows`` rows. Everything else
    is per row: a bad price, a missing title, a duplicate, a line over
    ``max_line_chars``, a row in another encoding than the rest.
    """
    limits = limits or ImportLimits()
    parsed, lines, columns = _open(data, limits)
    _read_rows(parsed, lines, columns, limits)
    return parsed


def parse_header(data: bytes, limits: ImportLimits | None = None) -> ParsedCsv:
    """Only the encoding, delimiter and header of an import CSV, with no row read: what the
    bot checks the moment a file arrives. Raises ``ImportFileError`` like ``parse_csv``."""
    parsed, _, _ = _open(data, limits or ImportLimits())
    return parsed


def _open(data: bytes, limits: ImportLimits) -> tuple[ParsedCsv, _Lines, dict[str, int]]:
    if len(data) > limits.max_csv_bytes:
        size, limit = f"{len(data) / MIB:.1f}", f"{limits.max_csv_bytes / MIB:g}"
        raise ImportFileError(ImportReason("csv_too_large", {"size_mb": size, "limit_mb": limit}))
    decoded = decode_csv_bytes(data)
    lines = _Lines(decoded.text, limits.max_line_chars)
    parsed = ParsedCsv(encoding=decoded.encoding)
    parsed.delimiter, parsed.header = _read_header(lines)
    return parsed, lines, _map_columns(parsed.header)


def _map_columns(header: list[str]) -> dict[str, int]:
    """Canonical column name → index, from a header in English or Russian, any case.

    Unknown columns are ignored (the failed-rows report adds "row" and "reason" columns,
    so it can be fixed and sent again as it is).
    """
    columns: dict[str, int] = {}
    for index, name in enumerate(header):
        column = _COLUMN_BY_ALIAS.get(_header_key(name))
        if column is None:
            continue
        if column in columns:
            raise ImportFileError(ImportReason("column_twice", {"column": column}))
        columns[column] = index
    missing = [column for column in REQUIRED_COLUMNS if column not in columns]
    if missing:
        found = ", ".join(name.strip() for name in header if name.strip()) or "—"
        arguments = {"missing": ", ".join(missing), "found": found}
        raise ImportFileError(ImportReason("columns_missing", arguments))
    return columns


def _header_key(name: str) -> str:
    key = unicodedata.normalize("NFC", name).replace("\ufeff", "").casefold()
    key = re.sub(r"\(.*?\)|[_\-]", " ", key)  # "Price (Stars)", "file_name"
    return " ".join(key.split()).strip(" :*")


class _Lines:
    """The text's physical lines; one longer than the limit comes out as an empty line.

    The csv module never sees the long line, so ten megabytes of ";;;" cannot turn into
    millions of fields; the row that held it is reported instead. Lines are cut from
    the text only when short enough to copy.
    """

    def __init__(self, text: str, max_chars: int) -> None:
        self._matches = _LINE.finditer(text)
        self.max_chars = max_chars
        self.count = 0
        self.too_long: set[int] = set()
        sep = _SEP_LINE.match(text)
        if sep is not None:
            self.sep: str | None = sep.group(1)
            self._matches = _LINE.finditer(text, sep.end())
        else:
            self.sep = None

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        match = next(self._matches)
        start, end = match.span()
        if start == end:
            raise StopIteration
        self.count += 1
        if end - start > self.max_chars:
            self.too_long.add(self.count)
            return "\n"
        return match.group()


def _read_header(lines: _Lines) -> tuple[str, list[str]]:
    """The delimiter and the header's cells: the delimiter that names the most columns."""
    first = next(lines, "")
    if lines.too_long:
        raise ImportFileError(ImportReason("header_too_long"))
    scored = []
    for rank, delimiter in enumerate((lines.sep,) if lines.sep else _DELIMITERS):
        cells = next(csv.reader([first], delimiter=delimiter), [])
        known = sum(_header_key(cell) in _COLUMN_BY_ALIAS for cell in cells)
        scored.append(((known, len(cells), -rank), delimiter, cells))
    _, delimiter, cells = max(scored, key=lambda item: item[0])
    return delimiter, cells


def _read_rows(
    parsed: ParsedCsv, lines: _Lines, columns: dict[str, int], limits: ImportLimits
) -> None:
    seen: dict[tuple[str, str, str], int] = {}
    data_rows = 0
    for row_number, cells, unreadable in _records(lines, parsed.delimiter):
        if unreadable is None and not any(cell.strip() for cell in cells):
            continue  # blank rows (and Excel's ";;;;") are not products
        data_rows += 1
        if data_rows > limits.max_rows:
            raise ImportFileError(ImportReason("csv_too_many_rows", {"limit": limits.max_rows}))
        parsed.original_rows[row_number] = cells
        result = _check_row(row_number, cells, unreadable, parsed, columns, limits)
        if isinstance(result, ImportRow):
            result = _unless_duplicate(result, seen)
        if isinstance(result, ImportRow):
            parsed.rows.append(result)
        else:
            parsed.errors.append(result)


def _check_row(
    row_number: int,
    cells: list[str],
    unreadable: ImportReason | None,
    parsed: ParsedCsv,
    columns: dict[str, int],
    limits: ImportLimits,
) -> ImportRow | RowError:
    problem = unreadable or _row_problem(cells, parsed)
    if problem is not None:
        return RowError(row_number, problem)
    values = {column: cells[index] for column, index in columns.items() if index < len(cells)}
    return validate_row(row_number, values, limits)


def _records(lines: _Lines, delimiter: str) -> Iterator[tuple[int, list[str], ImportReason | None]]:
    """(row number, cells, why the row is unreadable or None), header being row 1."""
    reader = csv.reader(lines, delimiter=delimiter)
    row_number = 1
    while True:
        first_line = lines.count + 1
        row_number += 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:  # the reader resets and goes on with the next line
            yield row_number, [], ImportReason("row_unparsable", {"error": str(error)})
            continue
        if lines.too_long and any(first_line <= n <= lines.count for n in lines.too_long):
            yield row_number, [], ImportReason("row_too_long", {"limit": lines.max_chars})
        else:
            yield row_number, cells, None


def _row_problem(cells: list[str], parsed: ParsedCsv) -> ImportReason | None:
    width = len(parsed.header)
    if len(cells) > width and any(cell.strip() for cell in cells[width:]):
        arguments: ReasonArguments = {
            "values": len(cells),
            "columns": width,
            "delimiter": parsed.delimiter,
        }
        return ImportReason("row_too_many_values", arguments)
    # One line is in one encoding: checking the cells together is as good and 5× cheaper.
    return text_problem("\n".join(cells), parsed.encoding)


def _unless_duplicate(
    row: ImportRow, seen: dict[tuple[str, str, str], int]
) -> ImportRow | RowError:
    # A product is its title and category with its image (see ``row_key``): the same three
    # again is the same product twice. One picture may be sold as several products
    # (another title, another category), so a shared file alone is no duplicate.
    file_key = unicodedata.normalize("NFC", row.file_name).replace("\\", "/").casefold()
    first = seen.setdefault((*same_product(row), file_key), row.row_number)
    if first == row.row_number:
        return row
    arguments: ReasonArguments = {"first": first, "file": row.file_name}
    return RowError(row.row_number, ImportReason("duplicate_row", arguments))
