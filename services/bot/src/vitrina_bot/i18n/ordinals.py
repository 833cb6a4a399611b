"""Ordinal numbers for "you are 3rd in line", per language."""

from __future__ import annotations

from vitrina_common.db.models import Language


def ordinal(language: Language, number: int) -> str:
    """``number`` as an ordinal: 1st, 2nd, 3rd, 11th, 21st; in Russian 1-й, 2-й."""
    if language is Language.RU:
        return f"{number}-й"
    if 10 <= number % 100 <= 20:
        return f"{number}th"
    return f"{number}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(number % 10, 'th') }"
