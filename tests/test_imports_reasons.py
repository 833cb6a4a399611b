"""Import reasons are data: every code the import code can produce reads in English and in
Russian, with the same placeholders, and survives being stored."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from vitrina_common.db.models import Language
from vitrina_common.i18n import load_catalogs, translator_for
from vitrina_common.imports import ImportFileError, ImportReason, RowError, parse_csv
from vitrina_common.imports.reasons import CATALOG_PREFIX, all_of, verbatim

ROOT = Path(__file__).resolve().parents[1]
# Everywhere reasons are made: the import library, its use cases, the worker's import jobs.
SOURCES = [
    *(ROOT / "libs/common/src/vitrina_common/imports").glob("*.py"),
    *(ROOT / "libs/common/src/vitrina_common/services").glob("imports*.py"),
    *(ROOT / "services/worker/src/vitrina_worker/jobs").glob("imports*.py"),
]
LITERAL_CODE = re.compile(r"""ImportReason\(\s*["']([a-z_0-9]+)["']""")
# fields.py builds these as f"{column}_{problem}".
COLUMN_CODES = {
    f"{column}_{problem}"
    for column in ("title", "category", "file")
    for problem in ("missing", "multiline", "too_long")
}


def catalog_codes(language: Language) -> set[str]:
    return {
        key.removeprefix(CATALOG_PREFIX)
        for key in load_catalogs()[language]
        if key.startswith(CATALOG_PREFIX)
    }


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_code_the_import_code_uses_has_an_english_and_a_russian_text() -> None:
    used = {code for path in SOURCES for code in LITERAL_CODE.findall(path.read_text())}
    used |= COLUMN_CODES

    assert len(used) > 50
    assert used - catalog_codes(Language.EN) == set()
    assert used - catalog_codes(Language.RU) == set()


@pytest.mark.parametrize("code", sorted(catalog_codes(Language.EN)))
def test_each_reason_renders_in_both_languages_with_the_same_placeholders(code: str) -> None:
    english = load_catalogs()[Language.EN][CATALOG_PREFIX + code]
    russian = load_catalogs()[Language.RU][CATALOG_PREFIX + code]
    assert isinstance(english, str)
    assert isinstance(russian, str)
    names = placeholders(english)
    reason = ImportReason(code, {name: f"<{name}>" for name in names})

    rendered = {language: reason.render(translator_for(language)) for language in Language}

    assert placeholders(russian) == names
    for text in rendered.values():
        assert all(f"<{name}>" in text for name in names)
        assert "{" not in text
    if code not in {"both", "verbatim"}:  # the only texts with no words of their own
        assert rendered[Language.EN] != rendered[Language.RU]
        assert re.search("[а-яё]", rendered[Language.RU], re.IGNORECASE)


def test_a_reason_inside_a_reason_is_rendered_in_the_same_language() -> None:
    reason = ImportReason(
        "image_refused",
        {"file": "a.jpg", "entry": "../a.jpg", "problem": ImportReason("unsafe_path")},
    )

    assert reason.english() == "image file 'a.jpg' is refused in the ZIP ('../a.jpg': unsafe path)"
    assert reason.render(translator_for(Language.RU)) == (
        "файл картинки «a.jpg» в ZIP не принят («../a.jpg»: небезопасный путь)"
    )


def test_several_problems_of_one_row_are_all_told_in_order() -> None:
    parsed = parse_csv(b"title;price;category;file\n;0;;a.jpg\n")

    [error] = parsed.errors
    assert error.reason == all_of(
        [
            ImportReason("title_missing"),
            ImportReason("price_invalid", {"min": 1, "max": 100_000, "got": "0"}),
            ImportReason("category_missing"),
        ]
    )
    assert error.reason.render(translator_for(Language.RU)) == (
        "нет названия; цена должна быть целым числом звёзд от 1 до 100000 (указано «0»);"
        " нет категории"
    )


def test_a_stored_reason_comes_back_equal() -> None:
    nested = RowError(
        7, all_of([ImportReason("price_missing"), ImportReason("row_too_long", {"limit": 9})])
    )

    assert ImportReason.from_json(nested.reason.to_json()) == nested.reason
    assert ImportReason.from_json(verbatim("old text").to_json()).english() == "old text"


def test_a_refused_file_still_explains_itself_in_english_where_no_one_translates() -> None:
    refused = ImportFileError(ImportReason("csv_too_many_rows", {"limit": 10}))

    assert str(refused) == "the CSV has more than 10 rows: split it into several imports"
