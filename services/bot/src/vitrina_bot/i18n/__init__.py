"""Translations: every user-visible string comes from ``locales/<language>/*.toml``."""

from vitrina_bot.i18n.catalog import Translator, load_catalogs, translator_for
from vitrina_bot.i18n.recipients import translator_for_chat

__all__ = ["Translator", "load_catalogs", "translator_for", "translator_for_chat"]
