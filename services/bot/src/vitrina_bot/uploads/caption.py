"""The upload caption: ``Title | price in Stars | Category``, an optional description below."""

from __future__ import annotations

from vitrina_common.imports.model import MAX_PRICE_STARS
from vitrina_common.services.admin_products import parse_price
from vitrina_common.services.catalog import NewProduct
from vitrina_common.text_limits import MAX_CATEGORY_CHARS, MAX_DESCRIPTION_CHARS, MAX_TITLE_CHARS


class CaptionError(ValueError):
    """The caption cannot describe a product; ``code`` names the reason in the catalogs
    (``upload.reason.<code>``), ``arguments`` fill it in."""

    def __init__(self, code: str, **arguments: object) -> None:
        super().__init__(code)
        self.code = code
        self.arguments = arguments


def parse_caption(caption: str | None) -> NewProduct:
    """The product an upload's caption describes; raises ``CaptionError``."""
    if not caption or not caption.strip():
        raise CaptionError("no_caption")
    first_line, _, rest = caption.strip().partition("\n")
    parts = [part.strip() for part in first_line.split("|")]
    if len(parts) != 3:
        raise CaptionError("parts")
    title, price_text, category = parts
    description = rest.strip()
    if not title or len(title) > MAX_TITLE_CHARS:
        raise CaptionError("title")
    if not category or len(category) > MAX_CATEGORY_CHARS:
        raise CaptionError("category")
    price = parse_price(price_text)
    if price is None:
        raise CaptionError("price", max=MAX_PRICE_STARS)
    # A Premium user's caption holds 4096 characters; the card shows what fits one caption.
    if len(description) > MAX_DESCRIPTION_CHARS:
        raise CaptionError("description", max=MAX_DESCRIPTION_CHARS)
    return NewProduct(title=title, price_stars=price, category=category, description=description)
