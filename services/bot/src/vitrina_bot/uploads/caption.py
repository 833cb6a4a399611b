"""The upload caption: ``Title | price in Stars | Category``, an optional description below."""

from __future__ import annotations

from vitrina_common.services.catalog import NewProduct

MAX_PRICE_STARS = 100_000
USAGE = (
    "Send the image as a file with a caption like:\n"
    "<code>Sunset over the bay | 150 | Landscapes</code>\n"
    "(title | price in ⭐ | category), and an optional description on the next lines."
)


class CaptionError(ValueError):
    """The caption cannot describe a product; ``str(error)`` says why, for the admin."""


def parse_caption(caption: str | None) -> NewProduct:
    """The product an upload's caption describes; raises ``CaptionError``."""
    if not caption or not caption.strip():
        raise CaptionError("the file has no caption")
    first_line, _, rest = caption.strip().partition("\n")
    parts = [part.strip() for part in first_line.split("|")]
    if len(parts) != 3:
        raise CaptionError("the first line needs three parts separated by |")
    title, price_text, category = parts
    if not title or len(title) > 128:
        raise CaptionError("the title must be 1 to 128 characters")
    if not category or len(category) > 64:
        raise CaptionError("the category must be 1 to 64 characters")
    if not price_text.isdigit() or not 1 <= int(price_text) <= MAX_PRICE_STARS:
        raise CaptionError(f"the price must be a whole number of Stars, 1 to {MAX_PRICE_STARS}")
    return NewProduct(
        title=title, price_stars=int(price_text), category=category, description=rest.strip()
    )
