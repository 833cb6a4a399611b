"""The bot's catalogs: its own ``locales/<language>/*.toml`` merged with the common ones
(``vitrina_common.i18n``: import reasons the worker renders too). The machinery (plural
rules, ``Translator``) lives in ``vitrina_common.i18n.catalog``."""

from __future__ import annotations

from pathlib import Path

from vitrina_common.db.models import Language
from vitrina_common.i18n import catalog as common
from vitrina_common.i18n.catalog import COMMON_LOCALES, Entry, Translator, plural_form

LOCALES = Path(__file__).parent / "locales"

__all__ = ["LOCALES", "Entry", "Translator", "load_catalogs", "plural_form", "translator_for"]


def load_catalogs() -> dict[Language, dict[str, Entry]]:
    """Every language's entries by dotted key: the common catalogs and the bot's own (a key
    in both is an error, as within one directory)."""
    return common.load_catalogs(COMMON_LOCALES, LOCALES)


def translator_for(language: Language) -> Translator:
    """The translator of ``language``."""
    return Translator(language, load_catalogs()[language])
