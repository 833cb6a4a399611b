"""How much a decoded text looks like words: the judge between single-byte encodings.

Only non-ASCII characters are scored: ASCII reads the same in every candidate. A wrong
single-byte reading of Russian leaves tell-tale shapes, and each costs points:

* cp1251 read as mac_cyrillic: capitals become symbols and Serbian letters (``√``, ``ƒ``,
  ``ј``) glued to lowercase words, and ``я`` becomes ``€``;
* cp1251 read as koi8-r (or the reverse): case flips (``зАКАТ``) and the letters come out
  in a shuffled, un-Russian frequency;
* cp1251 read as cp1252 or latin-1: whole words of accented Latin letters (``Çàêàò``),
  latin-1 also C1 control characters.

Letters earn points by their frequency in Russian, so a shuffled alphabet scores lower
even when every word's case looks normal.
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from functools import cache, lru_cache

# Approximate letters per thousand in Russian prose (the usual corpus-based table).
_RUSSIAN_PER_MILLE = {
    "о": 109.7, "е": 84.5, "а": 80.1, "и": 73.5, "н": 67.0, "т": 62.6, "с": 54.7,
    "р": 47.3, "в": 45.4, "л": 44.0, "к": 34.9, "м": 32.1, "д": 29.8, "п": 28.1,
    "у": 26.2, "я": 20.1, "ы": 19.0, "ь": 17.4, "г": 17.0, "з": 16.5, "б": 15.9,
    "ч": 14.4, "й": 12.1, "х": 9.7, "ж": 9.4, "ш": 7.3, "ю": 6.4, "ц": 4.8, "щ": 3.6,
    "э": 3.2, "ф": 2.6, "ъ": 0.4, "ё": 0.4,
}  # fmt: skip
_UKRAINIAN = frozenset("іїєґ")
# A letter as common as "б" (log10 ≈ 1.2) scores zero; "о" about +0.8, "ъ" about -1.6.
_FREQUENCY_ZERO = 1.2
_OTHER_CYRILLIC = -1.5  # ђ ј љ ћ ќ ѕ ў џ: Serbian/Macedonian, or cp1251 capitals via Mac
_ACCENTED_LATIN = 0.2
_OTHER_LETTER = -1.0  # ª º µ and other scripts' letters
_CONTROL = -5.0  # C1 controls and unassigned code points: never in text
_SYMBOL_BY_LETTER = -3.0  # √ ƒ ≈ ¬ ± touching a letter
_CASE_FLIP = -2.0  # a lowercase letter followed by a capital inside a word
_ACCENT_RUN = -1.5  # two accented Latin letters in a row: rare in French or German
_MIXED_SCRIPTS = -3.0  # Cyrillic and Latin letters in one word
# Characters that legitimately touch words in shop texts.
_WORD_PUNCTUATION = frozenset("«»„“”‘’ʼ–—…№°€•\u00a0·")
# A word: ASCII letters and any non-ASCII characters (where mojibake symbols hide).
_WORD = re.compile(r"[A-Za-z\x80-\U0010ffff]+")


def plausibility(text: str) -> float:
    """Higher is more like human text; comparable between readings of the same bytes."""
    words = (match.group() for match in _WORD.finditer(text))
    return sum(_word_score(word) for word in words if not word.isascii())


@lru_cache(maxsize=65_536)  # words repeat (Zipf): most of a CSV is scored from the cache
def _word_score(token: str) -> float:
    score = sum(_char_score(char) for char in token if not char.isascii())
    scripts = {_script(char) for char in token if char.isalpha()}
    if {"cyrillic", "latin"} <= scripts:
        score += _MIXED_SCRIPTS
    for left, right in itertools.pairwise(token):
        if left.isascii() and right.isascii():
            continue
        score += _pair_score(left, right)
    return score


def _pair_score(left: str, right: str) -> float:
    if left.islower() and right.isupper():
        return _CASE_FLIP
    if left.isalpha() and right.isalpha():
        accented = _script(left) == _script(right) == "latin"
        return _ACCENT_RUN if accented and not (left.isascii() or right.isascii()) else 0.0
    if left.isalpha() != right.isalpha():
        other = right if left.isalpha() else left
        return _SYMBOL_BY_LETTER if _is_symbol(other) else 0.0
    return 0.0


@cache
def _char_score(char: str) -> float:
    lower = char.lower()
    if lower in _RUSSIAN_PER_MILLE:
        return math.log10(_RUSSIAN_PER_MILLE[lower]) - _FREQUENCY_ZERO
    if lower in _UKRAINIAN:
        return 0.0
    script = _script(char)
    if script == "cyrillic":
        return _OTHER_CYRILLIC
    if script == "latin":
        return _ACCENTED_LATIN
    if char.isalpha():
        return _OTHER_LETTER
    category = unicodedata.category(char)
    return _CONTROL if category in {"Cc", "Cn", "Co"} else 0.0


@cache
def _script(char: str) -> str:
    if not char.isalpha():
        return "none"
    name = unicodedata.name(char, "")
    for script in ("cyrillic", "latin"):
        if name.startswith(script.upper()):
            return script
    return "other"


@cache
def _is_symbol(char: str) -> bool:
    if char.isascii() or char in _WORD_PUNCTUATION:
        return False
    return unicodedata.category(char)[0] in {"S", "C"} or unicodedata.category(char) == "Po"
