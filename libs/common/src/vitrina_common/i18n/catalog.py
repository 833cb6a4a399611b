"""TOML message catalogs with plural forms: ``locales/<language>/<area>.toml``.

A key maps to a string with ``{placeholders}`` (``str.format`` syntax), or to a table of
plural forms (``one``/``few``/``many``/``other``) chosen by the ``count`` argument with the
CLDR rules of the language. Catalogs are plain data files: translators edit them without
a build step, and a test fails when a key exists in one language only. A language's files
are merged (one per feature area, so areas are edited independently), across every
catalog directory a process loads (the bot: these common ones and its own; the worker:
these only); a key defined in two files of one language is an error rather than a silent
override.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from vitrina_common.db.models import Language

# The catalogs every process needs: what the shared library tells admins (import reasons).
COMMON_LOCALES = Path(__file__).parent / "locales"
PLURAL_FORMS = frozenset({"one", "few", "many", "other"})
Entry = str | Mapping[str, str]


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Entry]:
    entries: dict[str, Entry] = {}
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, str):
            entries[key] = value
        elif set(value) <= PLURAL_FORMS:
            entries[key] = dict(value)
        else:
            entries.update(_flatten(value, f"{key}."))
    return entries


def _load_language(directories: tuple[Path, ...], language: Language) -> dict[str, Entry]:
    entries: dict[str, Entry] = {}
    for directory in directories:
        for path in sorted((directory / language.value).glob("*.toml")):
            area = _flatten(tomllib.loads(path.read_text()))
            if clash := entries.keys() & area.keys():
                raise ValueError(f"{path}: keys defined in another file too: {sorted(clash)}")
            entries.update(area)
    return entries


@cache
def load_catalogs(*directories: Path) -> dict[Language, dict[str, Entry]]:
    """Every language's entries by dotted key (``menu.catalog``), merged from the
    ``<language>/*.toml`` files of ``directories`` (default: the common catalogs only)."""
    found = directories or (COMMON_LOCALES,)
    return {language: _load_language(found, language) for language in Language}


def plural_form(language: Language, count: int) -> str:
    """The CLDR plural category of ``count`` in ``language`` (integers only)."""
    if language is Language.RU:
        if count % 10 == 1 and count % 100 != 11:
            return "one"
        if 2 <= count % 10 <= 4 and not 12 <= count % 100 <= 14:
            return "few"
        return "many"
    return "one" if count == 1 else "other"


class Translator:
    """Renders keys in one language: ``t("product.buy", price=150)``."""

    def __init__(self, language: Language, entries: Mapping[str, Entry]) -> None:
        self.language = language
        self._entries = entries

    def __call__(self, key: str, /, **arguments: Any) -> str:
        """The entry ``key`` with ``arguments`` filled in (plural form by ``count``)."""
        entry = self._entries[key]
        if not isinstance(entry, str):
            form = plural_form(self.language, int(arguments["count"]))
            entry = entry.get(form) or entry["other" if "other" in entry else "many"]
        return entry.format(**arguments)


def translator_for(language: Language) -> Translator:
    """The translator of ``language`` over the common catalogs (what the worker renders)."""
    return Translator(language, load_catalogs()[language])
