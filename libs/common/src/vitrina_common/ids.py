"""Ids typed or carried in text (callback data, deep links, commands, an admin's search):
the one parser, so a forged one is refused instead of crashing a handler.

``str.isdigit`` is not enough: it says yes to "²" (which ``int`` refuses) and to numbers
beyond Postgres' bigint (which the driver refuses mid-query).
"""

from __future__ import annotations

MAX_ID = 2**63 - 1  # bigint, the type of every id column and of Telegram's ids
_MAX_DIGITS = len(str(MAX_ID))


def parse_id(text: object) -> int | None:
    """The positive id ``text`` spells in ASCII digits, or None for anything else."""
    if not isinstance(text, str | int) or isinstance(text, bool):
        return None
    digits = str(text)
    if not (digits.isascii() and digits.isdigit()) or len(digits) > _MAX_DIGITS:
        return None
    value = int(digits)
    return value if 0 < value <= MAX_ID else None
