"""Why a file or a row of an import is refused, as data: a code and its arguments.

The import library never writes a sentence: whoever shows a reason renders it in the
reader's language from the catalogs (``vitrina_common/i18n/locales/<language>/imports.toml``,
key ``imports.reason.<code>``). A reason may carry other reasons as arguments (an entry's
own problem inside "image refused in the ZIP", several problems of one row), rendered
first. ``to_json``/``from_json`` are how reasons are stored (``import_rows.reason``,
``import_batches.refusal_reason``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from vitrina_common.db.models import Language
from vitrina_common.i18n import Translator, translator_for

CATALOG_PREFIX = "imports.reason."
# Text without a code, shown as it is in every language: what was stored before reasons
# were data (migration 0005 wraps it), or a job's unexpected error message.
VERBATIM = "verbatim"

# What fills a reason's placeholders: plain values, or reasons rendered first.
ReasonArguments = Mapping[str, "str | int | ImportReason"]


@dataclass(frozen=True)
class ImportReason:
    """One reason an import, a file or a row is refused: ``imports.reason.<code>`` filled
    in with ``arguments`` (plain values, or reasons rendered in the same language)."""

    code: str
    arguments: ReasonArguments = field(default_factory=dict)

    def render(self, t: Translator) -> str:
        """The reason as a sentence in ``t``'s language."""
        values = {
            name: value.render(t) if isinstance(value, ImportReason) else value
            for name, value in self.arguments.items()
        }
        return t(CATALOG_PREFIX + self.code, **values)

    def english(self) -> str:
        """The English sentence: for logs, exception messages and tests."""
        return self.render(translator_for(Language.EN))

    def to_json(self) -> dict[str, Any]:
        """A JSON object ``{"code": …, "arguments": {…}}``; nested reasons nest."""
        return {
            "code": self.code,
            "arguments": {
                name: value.to_json() if isinstance(value, ImportReason) else value
                for name, value in self.arguments.items()
            },
        }

    @classmethod
    def from_json(cls, stored: Mapping[str, Any]) -> ImportReason:
        """The reason ``to_json`` stored."""
        arguments = stored.get("arguments") or {}
        return cls(
            str(stored["code"]),
            {
                name: cls.from_json(value) if isinstance(value, Mapping) else value
                for name, value in arguments.items()
            },
        )


def verbatim(text: str) -> ImportReason:
    """A text shown as it is in every language (no code for it: an exception's message)."""
    return ImportReason(VERBATIM, {"text": text})


def all_of(reasons: Iterable[ImportReason]) -> ImportReason:
    """One reason saying each of ``reasons`` (at least one), in order, "; " between them."""
    *earlier, last = reasons
    for reason in reversed(earlier):
        last = ImportReason("both", {"first": reason, "second": last})
    return last
