"""How long shop texts may be, and cutting a text to fit a Telegram message.

A product card is a photo caption: Telegram takes at most 1024 visible characters there
(4096 in a text message) and refuses the whole message beyond that, so an over-long
description would hide the product from every shopper. Titles and categories are bounded
by their columns; a description by what is left of the card once the title, the price line
and the "you own it" line are in. The bot and the import check these at input and refuse
with the reason; what is already stored longer is cut when shown (``clip``).
"""

from __future__ import annotations

import html

# Telegram's limits, counted on the visible text (after HTML parsing), in characters.
TELEGRAM_CAPTION_CHARS = 1024
TELEGRAM_TEXT_CHARS = 4096

# The columns: products.title, categories.title.
MAX_TITLE_CHARS = 128
MAX_CATEGORY_CHARS = 64
# The shopper's card: title (128) + description + about 60 for the price and "owned" lines
# in either language, with room to spare for the card's texts growing.
MAX_DESCRIPTION_CHARS = 800

# The admin's card holds more lines (status, category, sales, a failed render's reason),
# so its description and reason are cut shorter than what is stored: 128 + 500 + 64 + 200
# + about 100 of labels stays under 1024 in both languages.
ADMIN_CARD_DESCRIPTION_CHARS = 500
ADMIN_CARD_REASON_CHARS = 200

# Support tickets: a subject is one line of a list; a comment fits one message with room
# for the lines around it when it is shown or forwarded.
MAX_TICKET_SUBJECT_CHARS = 128
MAX_TICKET_COMMENT_CHARS = 4000
# A comment quoted in a notice or an alert (the whole one is in the ticket).
TICKET_QUOTE_CHARS = 3000

# Why an import file or an import was refused may quote the file (its header, its entries'
# names): shown in a message, it is cut well inside one message.
MAX_SHOWN_REASON_CHARS = 1000


def clip(text: str, limit: int) -> str:
    """``text`` stripped and cut to ``limit`` characters, ending in "…" when cut."""
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def clipped_html(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` visible characters, then escaped for an HTML message.

    Cut first: cutting escaped text could split ``&amp;`` and leave markup Telegram refuses.
    """
    return html.escape(clip(text, limit))
