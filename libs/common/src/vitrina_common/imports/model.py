"""What a bulk import is made of: its limits, its rows, and the ways it can be refused."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import dataclass

from vitrina_common.imports.reasons import ImportReason
from vitrina_common.text_limits import MAX_DESCRIPTION_CHARS

MIB = 1024 * 1024

# Fixed by Telegram Stars.
MIN_PRICE_STARS = 1
MAX_PRICE_STARS = 100_000


@dataclass(frozen=True)
class ImportLimits:
    """How much one import may ask of the worker; defaults until settings carry them."""

    max_csv_bytes: int = 5 * MIB
    max_rows: int = 10_000
    # One physical line of the CSV. Longer lines are replaced before the csv module sees
    # them, so a 10 MB line of ";;;;" never becomes millions of fields in memory.
    max_line_chars: int = 64 * 1024
    # What fits the product card (see ``text_limits``).
    max_description_chars: int = MAX_DESCRIPTION_CHARS
    max_zip_entries: int = 2_000
    max_zip_total_bytes: int = 2 * 1024 * MIB
    # Same default as WorkerSettings.max_original_bytes: an entry is an original.
    max_image_bytes: int = 50 * MIB


class ImportFileError(ValueError):
    """The whole file (CSV or ZIP) is refused; ``reason`` says why, for the admin."""

    def __init__(self, reason: ImportReason) -> None:
        super().__init__(reason.code)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason.english()


class EntryError(ValueError):
    """One ZIP entry cannot be used (unsafe path, missing, too large); the row fails."""

    def __init__(self, reason: ImportReason) -> None:
        super().__init__(reason.code)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason.english()


@dataclass(frozen=True)
class RowError:
    """A row that will not be imported, and why.

    ``row_number`` counts like Excel does: the header is row 1, the first product row 2.
    """

    row_number: int
    reason: ImportReason


@dataclass(frozen=True)
class ImportRow:
    """A valid CSV row: everything a product needs except its image bytes."""

    row_number: int
    title: str
    description: str
    price_stars: int
    category: str
    file_name: str


def _normalized(text: str) -> str:
    # Casefold and collapse whitespace: "Закат  над морем" and "закат над морем" are the
    # same product to an admin; NFC so macOS's decomposed "й" equals the composed one.
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def same_product(row: ImportRow) -> tuple[str, str]:
    """What makes two rows with the same image the same product: title and category, as
    ``row_key`` compares them (NFC, casefolded, whitespace collapsed)."""
    return _normalized(row.title), _normalized(row.category)


def row_key(row: ImportRow, image_sha256: str) -> str:
    """The stable identity of an imported product, as 64 hex digits.

    sha256 over the JSON array ``[title, category, image_sha256]``, title and category
    normalized (NFC, casefolded, whitespace collapsed). The same picture under the same
    title in the same category is the same product, so re-sending the same CSV and ZIP
    creates nothing new. Price and description are left out on purpose: correcting a price
    and re-sending must not create a second product. JSON rather than joining with ``|``
    keeps a title containing ``|`` from colliding with another title/category split.
    """
    parts = [*same_product(row), image_sha256.lower()]
    encoded = json.dumps(parts, ensure_ascii=False, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()
