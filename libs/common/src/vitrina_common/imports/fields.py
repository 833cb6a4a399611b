"""One CSV row's values checked against what a product may be."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from vitrina_common.imports.model import (
    MAX_CATEGORY_CHARS,
    MAX_PRICE_STARS,
    MAX_TITLE_CHARS,
    MIN_PRICE_STARS,
    ImportLimits,
    ImportRow,
    RowError,
)

PRICE_RULE = f"price must be a whole number of Stars from {MIN_PRICE_STARS} to {MAX_PRICE_STARS}"
# "150", and what Excel makes of it in a Russian locale: "1 500" (a no-break or thin space
# groups thousands) or "150,00" (a currency format). "1.5" and "1e3" are refused.
_GROUPING = str.maketrans("", "", " \u00a0\u202f")
_PRICE = re.compile(r"(\d{1,3}(?:[ \u00a0\u202f]\d{3})+|\d+)(?:[.,]0+)?", re.ASCII)


def validate_row(
    row_number: int, values: Mapping[str, str], limits: ImportLimits
) -> ImportRow | RowError:
    """The product a row describes, or every reason it cannot be one (joined by "; ").

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
        problems.append(f"description is longer than {limits.max_description_chars} characters")
    if isinstance(price, str):
        problems.append(price)
    problems += _one_line_text("category", category, MAX_CATEGORY_CHARS)
    problems += _one_line_text("file name", file_name, None)
    if not problems and isinstance(price, int):
        return ImportRow(row_number, title, description, price, category, file_name)
    return RowError(row_number, "; ".join(problems))


def _clean(value: str) -> str:
    # NFC: macOS writes "й" as "и" + a combining breve; the database must see one spelling.
    return unicodedata.normalize("NFC", value).strip()


def _one_line_text(name: str, value: str, max_chars: int | None) -> list[str]:
    if not value:
        return [f"missing {name}"]
    if "\n" in value or "\r" in value:
        return [f"{name} must be on one line"]
    if max_chars is not None and len(value) > max_chars:
        return [f"{name} is longer than {max_chars} characters"]
    return []


def _price(raw: str) -> int | str:
    """The price in Stars, or the reason it is not one."""
    text = raw.strip()
    if not text:
        return "missing price"
    match = _PRICE.fullmatch(text)
    if match is None:
        return f"{PRICE_RULE} (got '{_shown(text)}')"
    value = int(match.group(1).translate(_GROUPING))
    if not MIN_PRICE_STARS <= value <= MAX_PRICE_STARS:
        return f"{PRICE_RULE} (got '{_shown(text)}')"
    return value


def _shown(text: str, limit: int = 40) -> str:
    # Echo the bad value so the admin finds it, but never a whole paragraph of it.
    return text if len(text) <= limit else text[: limit - 1] + "…"
