"""The texts of notifications: keys of the common message catalogs
(``i18n/locales/<language>/notifications.toml``, one table per notice), rendered in the
recipient's language when the notice is sent, not when it is created.

A template key is the full catalog key (``notifications.digest.new_products``). Parameters
are escaped for Telegram HTML here, so a product title like ``<Sun & Sea>`` shows as typed;
the markup is the catalog's. A ``count`` parameter picks the plural form (see
``i18n.catalog``). To add a notice: add its key to the ``notifications.toml`` of every
language (``tests/test_i18n.py`` fails when one is missing) and pass the key to
``notify()``, which refuses a key or a parameter set that does not render.
"""

from __future__ import annotations

import html
from collections.abc import Mapping

from vitrina_common.db.models import Language
from vitrina_common.i18n import translator_for

TEMPLATE_PREFIX = "notifications."
Params = Mapping[str, str | int]


class TemplateError(ValueError):
    """A template key that is not in the catalogs, or parameters that do not fill it."""


def render(template: str, language: Language, params: Params) -> str:
    """``template`` in ``language`` with ``params`` HTML-escaped and filled in."""
    translate = translator_for(language)
    escaped = {
        name: html.escape(value, quote=False) if isinstance(value, str) else value
        for name, value in params.items()
    }
    try:
        return translate(template, **escaped)
    except KeyError as error:
        raise TemplateError(f"{template}: no entry or no parameter {error}") from error
    except (IndexError, ValueError) as error:
        raise TemplateError(f"{template}: {error}") from error


def check_template(template: str, params: Params) -> None:
    """Raise ``TemplateError`` unless ``template`` is a notification text that renders with
    ``params`` in every language: a mistake shows where the notice is created, not hours
    later in the sender."""
    if not template.startswith(TEMPLATE_PREFIX):
        raise TemplateError(f"{template}: notification texts are keys under {TEMPLATE_PREFIX}")
    for language in Language:
        render(template, language, params)
