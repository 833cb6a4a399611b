"""From the files an admin sent to the list of products to create, and the report back."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

from vitrina_common.db.models import Language
from vitrina_common.i18n import Translator, translator_for
from vitrina_common.imports.archive import ImageArchive, ZipSource, find_csv, open_archive
from vitrina_common.imports.csv_rows import ParsedCsv, parse_csv
from vitrina_common.imports.model import (
    EntryError,
    ImportFileError,
    ImportLimits,
    ImportRow,
    RowError,
    same_product,
)
from vitrina_common.imports.reasons import ImportReason, ReasonArguments


@dataclass(frozen=True)
class PlannedRow(ImportRow):
    """A valid row whose image was found in the ZIP under ``entry_name``."""

    entry_name: str


@dataclass
class ImportPlan:
    """What an import will do: rows to create and rows refused, in row order."""

    rows: list[PlannedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    encoding: str = ""
    # The CSV's header and cells, for ``failed_rows_csv``.
    header: list[str] = field(default_factory=list)
    original_rows: dict[int, list[str]] = field(default_factory=dict)


def plan_import(
    csv_bytes: bytes | None, zip_source: ZipSource, limits: ImportLimits | None = None
) -> ImportPlan:
    """Check a CSV against a ZIP of images (bytes, or the path of the file); ``csv_bytes``
    None means the CSV is in the ZIP.

    Raises ``ImportFileError`` when a whole file is refused (see ``parse_csv`` and
    ``open_archive``). Every other problem is a ``RowError`` in the plan; an image missing
    from the ZIP, or one that two rows share, is one too. Nothing is read but the CSV:
    images are read later, row by row, with ``ImageArchive.read``.
    """
    limits = limits or ImportLimits()
    with open_archive(zip_source, limits) as archive:
        parsed = parse_csv(_csv_from(archive, limits) if csv_bytes is None else csv_bytes, limits)
        planned, missing = _match_images(parsed, archive)
    return ImportPlan(
        rows=planned,
        errors=sorted(parsed.errors + missing, key=lambda error: error.row_number),
        encoding=parsed.encoding,
        header=parsed.header,
        original_rows=parsed.original_rows,
    )


def failed_rows_csv(
    errors: Sequence[RowError],
    original_rows: Mapping[int, Sequence[str]],
    header: Sequence[str] = (),
    t: Translator | None = None,
) -> bytes:
    """The failed rows as a CSV for Excel: row number, reason, then the row as it was sent.

    The first two columns' names and the reasons are in ``t``'s language (English when
    None); the admin's header follows as it was, so the import columns keep their names.

    UTF-8 with a BOM, because Excel opens a CSV without one in the system's ANSI code page
    (cp1251 in Russia) and shows UTF-8 as mojibake. ";" between cells, because Excel
    splits cells on the locale's list separator, which is ";" wherever "," is the decimal
    comma, Russia included. (A "sep=;" first line would force it everywhere, but Excel
    then ignores the BOM.) The "row" and "reason" columns are not import columns, so the
    fixed file can be sent again as it is (in Russian too: "строка", "причина" name no
    import column either). Cells are the admin's own text handed back to
    the same admin, so they are not rewritten against formula injection: a leading "'"
    would end up in the product's title on re-import.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    t = t or translator_for(Language.EN)
    writer.writerow([t("imports.report.row"), t("imports.report.reason"), *header])
    for error in sorted(errors, key=lambda error: error.row_number):
        cells = original_rows.get(error.row_number, ())
        writer.writerow([error.row_number, error.reason.render(t), *cells])
    return codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8")


def _csv_from(archive: ImageArchive, limits: ImportLimits) -> bytes:
    name = find_csv(archive)
    try:
        return archive.read(name, max_bytes=limits.max_csv_bytes)
    except EntryError as error:
        raise ImportFileError(error.reason) from error


def _match_images(
    parsed: ParsedCsv, archive: ImageArchive
) -> tuple[list[PlannedRow], list[RowError]]:
    planned: list[PlannedRow] = []
    errors: list[RowError] = []
    # Two spellings of one entry ("a.jpg", "photos/A.JPG") under the same title and
    # category are one product twice; csv_rows only saw the spellings differ.
    used: dict[tuple[str, str, str], int] = {}
    for row in parsed.rows:
        try:
            entry = archive.locate(row.file_name)
        except EntryError as error:
            errors.append(RowError(row.row_number, error.reason))
            continue
        first = used.setdefault((*same_product(row), entry), row.row_number)
        if first != row.row_number:
            arguments: ReasonArguments = {"first": first, "entry": entry}
            errors.append(RowError(row.row_number, ImportReason("duplicate_entry", arguments)))
        else:
            planned.append(PlannedRow(**asdict(row), entry_name=entry))
    return planned, errors
