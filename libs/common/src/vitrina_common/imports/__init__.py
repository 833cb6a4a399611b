"""Bulk import: a CSV in whatever encoding Excel wrote plus a ZIP of images, checked row by
row before anything touches the database.

Pure Python: no database, no NATS, no Telegram. The worker turns a plan into jobs.
"""

from vitrina_common.imports.archive import (
    ImageArchive,
    ZipSource,
    find_csv,
    open_archive,
    refuse_unsafe_paths,
)
from vitrina_common.imports.csv_rows import ParsedCsv, parse_csv, parse_header
from vitrina_common.imports.encoding import DecodedText, decode_csv_bytes
from vitrina_common.imports.model import (
    EntryError,
    ImportFileError,
    ImportLimits,
    ImportRow,
    RowError,
    row_key,
)
from vitrina_common.imports.plan import ImportPlan, PlannedRow, failed_rows_csv, plan_import
from vitrina_common.imports.reasons import ImportReason

__all__ = [
    "DecodedText",
    "EntryError",
    "ImageArchive",
    "ImportFileError",
    "ImportLimits",
    "ImportPlan",
    "ImportReason",
    "ImportRow",
    "ParsedCsv",
    "PlannedRow",
    "RowError",
    "ZipSource",
    "decode_csv_bytes",
    "failed_rows_csv",
    "find_csv",
    "open_archive",
    "parse_csv",
    "parse_header",
    "plan_import",
    "refuse_unsafe_paths",
    "row_key",
]
