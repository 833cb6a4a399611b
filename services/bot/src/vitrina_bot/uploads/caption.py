"""The upload caption: ``Title | price in Stars | Category``, an optional description below."""

from __future__ import annotations

from vitrina_common.services.catalog import NewProduct

MAX_PRICE_STARS = 100_000


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
    if not title or len(title) > 128:
        raise CaptionError("title")
    if not category or len(category) > 64:
        raise CaptionError("category")
    if not price_text.isdigit() or not 1 <= int(price_text) <= MAX_PRICE_STARS:
        raise CaptionError("price", max=MAX_PRICE_STARS)
    return NewProduct(
        title=title, price_stars=int(price_text), category=category, description=rest.strip()
    )
