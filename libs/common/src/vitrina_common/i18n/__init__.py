"""Translations shared by the bot and the worker: the catalog machinery, and the catalogs
of what the shared library tells admins (see ``catalog``)."""

from vitrina_common.i18n.catalog import (
    COMMON_LOCALES,
    Translator,
    load_catalogs,
    plural_form,
    translator_for,
)

__all__ = ["COMMON_LOCALES", "Translator", "load_catalogs", "plural_form", "translator_for"]
