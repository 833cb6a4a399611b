"""CSV files that Excel opens correctly, written row chunk by row chunk to a binary file.

The house conventions of ``vitrina_common.imports.failed_rows_csv``: UTF-8 with a BOM
(without one Excel reads the file in the system's ANSI code page, cp1251 in Russia, and
shows mojibake), ``;`` between cells (Excel splits on the locale's list separator, which is
``;`` wherever the decimal separator is a comma, Russia included), CRLF line ends, and the
csv module's minimal quoting (a cell with ``;``, ``"`` or a line break is quoted, quotes
doubled).

Unlike the failed-rows file, exports carry text other people typed (product titles,
usernames, names): a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return would be run by Excel as a formula (``=HYPERLINK(...)``), so such a cell gets a
leading ``'``, which Excel shows as text and hides.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import Enum
from typing import IO, Any
from zoneinfo import ZoneInfo

DELIMITER = ";"
LINE_END = "\r\n"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def neutralise_formula(text: str) -> str:
    """``text`` as Excel will show it literally, never run as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class ExcelCsvWriter:
    """Writes a header and rows into ``binary``; ``rows`` counts the data rows written.

    Times become local wall-clock times of ``timezone`` (``2025-03-10 15:00:00``, which
    Excel reads as a date and time in any locale).
    """

    def __init__(self, binary: IO[bytes], header: Sequence[str], timezone: str) -> None:
        # utf-8-sig writes the BOM once, before the first byte of text.
        self._text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
        self._writer = csv.writer(self._text, delimiter=DELIMITER, lineterminator=LINE_END)
        self._zone = ZoneInfo(timezone)
        self._writer.writerow([neutralise_formula(name) for name in header])
        self.rows = 0

    def write(self, rows: Iterable[Sequence[Any]]) -> None:
        """Append rows (database values: text, numbers, booleans, times, enums, NULLs)."""
        for row in rows:
            self._writer.writerow([self._cell(value) for value in row])
            self.rows += 1

    def finish(self) -> None:
        """Flush everything into the binary file and leave it open for the caller."""
        self._text.flush()
        self._text.detach()

    def _cell(self, value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, Enum):
            return str(value.value)
        if isinstance(value, datetime):
            return value.astimezone(self._zone).strftime(TIME_FORMAT)
        if isinstance(value, str):
            return neutralise_formula(value)
        return str(value)
