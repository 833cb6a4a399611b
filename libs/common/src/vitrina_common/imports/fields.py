"""One CSV row's values checked against what a product may be."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from vitrina_common.imports.model import (
    MAX_PRICE_STARS,
    MIN_PRICE_STARS,
    ImportLimits,
    ImportRow,
    RowError,
)
from vitrina_common.imports.reasons import ImportReason, ReasonArguments, all_of
from vitrina_common.text_limits import MAX_CATEGORY_CHARS, MAX_TITLE_CHARS

# "150", and what Excel makes of it in a Russian locale: "1 500" (a no-break or thin space
# groups thousands) or "150,00" (a currency format). "1.5" and "1e3" are refused.
_GROUPING = str.maketrans("", "", " \u00a0\u202f")
_PRICE = re.compile(r"(\d{1,3}(?:[ \u00a0\u202f]\d{3})+|\d+)(?:[.,]0+)?", re.ASCII)


def validate_row(
    row_number: int, values: Mapping[str, str], limits: ImportLimits
) -> ImportRow | RowError:
    """The product a row describes, or every reason it cannot be one (``all_of``).

    ``values`` maps the canonical column names (title, description, price, category, file)
    to the raw cell text; a missing column reads as an empty cell.
    """
    title = _clean(values.get("title", ""))
    category = _clean(values.get("category", ""))
    description = _clean(values.get("description", ""))
    file_name = _clean(values.get("file", ""))
    price = _price(values.get("price", ""))
    problems = _one_line_text("title", title, MAX_TITLE_CHARS)
    if len(description) > limits.max_description_chars:
        limit = limits.max_description_chars
        problems.append(ImportReason("description_too_long", {"limit": limit}))
    if isinstance(price, ImportReason):
        problems.append(price)
    problems += _one_line_text("category", category, MAX_CATEGORY_CHARS)
    problems += _one_line_text("file", file_name, None)
    if not problems and isinstance(price, int):
        return ImportRow(row_number, title, description, price, category, file_name)
    return RowError(row_number, all_of(problems))


def _clean(value: str) -> str:
    # NFC: macOS writes "й" as "и" + a combining breve; the database must see one spelling.
    return unicodedata.normalize("NFC", value).strip()


def _one_line_text(name: str, value: str, max_chars: int | None) -> list[ImportReason]:
    # One code per column and problem: languages inflect the column's name differently.
    if not value:
        return [ImportReason(f"{name}_missing")]
    if "\n" in value or "\r" in value:
        return [ImportReason(f"{name}_multiline")]
    if max_chars is not None and len(value) > max_chars:
        return [ImportReason(f"{name}_too_long", {"limit": max_chars})]
    return []


def _price(raw: str) -> int | ImportReason:
    """The price in Stars, or the reason it is not one."""
    text = raw.strip()
    if not text:
        return ImportReason("price_missing")
    match = _PRICE.fullmatch(text)
    value = int(match.group(1).translate(_GROUPING)) if match is not None else None
    if value is None or not MIN_PRICE_STARS <= value <= MAX_PRICE_STARS:
        arguments: ReasonArguments = {
            "min": MIN_PRICE_STARS,
            "max": MAX_PRICE_STARS,
            "got": _shown(text),
        }
        return ImportReason("price_invalid", arguments)
    return value


def _shown(text: str, limit: int = 40) -> str:
    # Echo the bad value so the admin finds it, but never a whole paragraph of it.
    return text if len(text) <= limit else text[: limit - 1] + "…"
