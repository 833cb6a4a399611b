"""A CSV and a ZIP become a plan of rows with their images; failures come back as an Excel CSV."""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import random
import zipfile
from pathlib import Path

import pytest

from vitrina_common.db.models import Language
from vitrina_common.i18n import translator_for
from vitrina_common.imports import (
    EntryError,
    ImportFileError,
    ImportLimits,
    ImportReason,
    PlannedRow,
    RowError,
    failed_rows_csv,
    open_archive,
    parse_csv,
    plan_import,
)
from vitrina_common.imports.archive import UNSAFE_PATH
from vitrina_common.imports.reasons import verbatim

HEADER = "Название;Описание;Цена;Категория;Файл"
JPEG = b"\xff\xd8\xff\xe0 not really a jpeg \xff\xd9"


def make_zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def cp1251_csv(*rows: str) -> bytes:
    return "\r\n".join([HEADER, *rows, ""]).encode("cp1251")


def test_rows_are_planned_with_the_zip_entry_of_their_image() -> None:
    plan = plan_import(
        cp1251_csv("Закат над морем;Описание;150;Пейзажи;sunset.jpg"),
        make_zip({"export/Sunset.JPG": JPEG}),
    )

    assert plan.errors == []
    assert plan.encoding == "cp1251"
    assert plan.rows == [
        PlannedRow(
            2, "Закат над морем", "Описание", 150, "Пейзажи", "sunset.jpg", "export/Sunset.JPG"
        )
    ]


def test_an_image_missing_from_the_zip_fails_its_row() -> None:
    plan = plan_import(
        cp1251_csv("Закат;;150;Пейзажи;sunset.jpg", "Луна;;10;Ночь;x.jpg"),
        make_zip({"sunset.jpg": JPEG}),
    )

    assert [row.title for row in plan.rows] == ["Закат"]
    assert plan.errors == [RowError(3, ImportReason("image_missing", {"file": "x.jpg"}))]


def test_a_zip_carrying_both_the_csv_and_the_images_is_enough() -> None:
    zip_bytes = make_zip(
        {
            "shop/products.csv": cp1251_csv("Закат;;150;Пейзажи;photos/sunset.jpg"),
            "shop/photos/sunset.jpg": JPEG,
        }
    )

    plan = plan_import(None, zip_bytes)

    assert [(row.title, row.entry_name) for row in plan.rows] == [
        ("Закат", "shop/photos/sunset.jpg")
    ]


def test_a_zip_spooled_to_disk_plans_like_its_bytes(tmp_path: Path) -> None:
    entries = {"products.csv": cp1251_csv("Закат;;150;Пейзажи;sunset.jpg"), "sunset.jpg": JPEG}
    path = tmp_path / "import.zip"
    path.write_bytes(make_zip(entries))

    assert plan_import(None, path) == plan_import(None, make_zip(entries))


def test_a_csv_inside_the_zip_is_held_to_the_csv_size_limit() -> None:
    zip_bytes = make_zip({"products.csv": cp1251_csv("Закат;;150;Пейзажи;a.jpg" + " " * 4000)})
    with pytest.raises(ImportFileError, match="larger than"):
        plan_import(None, zip_bytes, ImportLimits(max_csv_bytes=1024))


def test_a_path_traversal_entry_fails_the_row_that_names_it() -> None:
    plan = plan_import(cp1251_csv("Зло;;1;Хаки;evil.jpg"), make_zip({"../evil.jpg": JPEG}))

    assert plan.rows == []
    [error] = plan.errors
    assert error == RowError(
        2,
        ImportReason(
            "image_refused", {"file": "evil.jpg", "entry": "../evil.jpg", "problem": UNSAFE_PATH}
        ),
    )
    assert error.reason.english() == (
        "image file 'evil.jpg' is refused in the ZIP ('../evil.jpg': unsafe path)"
    )


def test_two_names_for_the_same_image_and_product_make_the_second_row_a_duplicate() -> None:
    plan = plan_import(
        cp1251_csv(
            "Закат;;150;Пейзажи;sunset.jpg",
            "Закат;;10;Пейзажи;photos/SUNSET.jpg",
            "Другой;;10;Другое;photos/SUNSET.jpg",
        ),
        make_zip({"photos/sunset.jpg": JPEG}),
    )

    assert [row.row_number for row in plan.rows] == [2, 4]
    assert [(error.row_number, error.reason.english()) for error in plan.errors] == [
        (3, "duplicate of row 2 (the same title and category, both use 'photos/sunset.jpg')")
    ]


def test_errors_from_the_csv_and_the_zip_come_in_row_order() -> None:
    plan = plan_import(
        cp1251_csv("А;;1;К;missing.jpg", "Б;;0;К;b.jpg", "В;;1;К;c.jpg"),
        make_zip({"b.jpg": JPEG, "c.jpg": JPEG}),
    )
    assert [error.row_number for error in plan.errors] == [2, 3]


def test_a_bad_zip_refuses_the_whole_import() -> None:
    with pytest.raises(ImportFileError, match="not a ZIP"):
        plan_import(cp1251_csv("Закат;;150;Пейзажи;sunset.jpg"), b"not a zip")


def test_failed_rows_csv_opens_in_excel_and_decodes_back() -> None:
    plan = plan_import(
        cp1251_csv("Закат;Море;0;Пейзажи;sunset.jpg", "Луна;;10;Ночь;moon.jpg"),
        make_zip({"sunset.jpg": JPEG}),
    )

    report = failed_rows_csv(plan.errors, plan.original_rows, plan.header)

    assert report.startswith(codecs.BOM_UTF8)
    rows = list(csv.reader(io.StringIO(report.decode("utf-8-sig")), delimiter=";"))
    assert rows == [
        ["row", "reason", "Название", "Описание", "Цена", "Категория", "Файл"],
        [
            "2",
            "price must be a whole number of Stars from 1 to 100000 (got '0')",
            *["Закат", "Море", "0", "Пейзажи", "sunset.jpg"],
        ],
        ["3", "image file 'moon.jpg' is not in the ZIP", "Луна", "", "10", "Ночь", "moon.jpg"],
    ]


def test_failed_rows_csv_speaks_the_admins_language_but_keeps_the_import_columns() -> None:
    plan = plan_import(cp1251_csv("Луна;;10;Ночь;moon.jpg"), make_zip({}))

    t = translator_for(Language.RU)
    report = failed_rows_csv(plan.errors, plan.original_rows, plan.header, t)

    rows = list(csv.reader(io.StringIO(report.decode("utf-8-sig")), delimiter=";"))
    assert rows == [
        ["строка", "причина", "Название", "Описание", "Цена", "Категория", "Файл"],
        ["2", "файла картинки «moon.jpg» нет в ZIP", "Луна", "", "10", "Ночь", "moon.jpg"],
    ]


@pytest.mark.parametrize("language", list(Language))
def test_failed_rows_csv_once_fixed_can_be_imported_as_it_is(language: Language) -> None:
    price = ImportReason("price_invalid", {"min": 1, "max": 100_000, "got": "0"})
    cells = {2: ["Закат", "", "0", "Пейзажи", "a.jpg"]}
    t = translator_for(language)
    report = failed_rows_csv([RowError(2, price)], cells, HEADER.split(";"), t)

    fixed = report.replace(b";0;", b";150;")
    parsed = parse_csv(fixed)

    assert parsed.encoding == "utf-8-sig"
    assert [(row.title, row.price_stars) for row in parsed.rows] == [("Закат", 150)]


def test_failed_rows_csv_quotes_values_holding_the_delimiter_or_newlines() -> None:
    report = failed_rows_csv([RowError(7, verbatim("bad; really\nbad"))], {})
    rows = list(csv.reader(io.StringIO(report.decode("utf-8-sig")), delimiter=";"))
    assert rows == [["row", "reason"], ["7", "bad; really\nbad"]]


def test_damaged_csvs_and_zips_fail_with_reasons_never_with_a_crash() -> None:
    rng = random.Random(7)  # noqa: S311  (fixed seed: the same damaged files on every run)
    csv_bytes = cp1251_csv("Закат;«Море»;150;Пейзажи;a.jpg", "Луна;;10;Ночь;dir/b.jpg")
    zip_bytes = make_zip({"a.jpg": JPEG * 50, "dir/b.jpg": bytes(5000), "p.csv": csv_bytes})
    for _ in range(200):
        damaged_csv, damaged_zip = damaged(rng, csv_bytes), damaged(rng, zip_bytes)
        assert import_outcome(damaged_csv, zip_bytes)
        assert import_outcome(csv_bytes, damaged_zip)
        assert import_outcome(None, damaged_zip)


def import_outcome(csv_bytes: bytes | None, zip_bytes: bytes) -> str:
    """The reason the import was refused, or "planned" once every planned image was read."""
    try:
        plan = plan_import(csv_bytes, zip_bytes)
        with open_archive(zip_bytes) as archive:
            for row in plan.rows:
                with contextlib.suppress(EntryError):
                    archive.read(row.entry_name)
    except ImportFileError as refused:
        return refused.reason.english()
    return "planned"


def damaged(rng: random.Random, data: bytes) -> bytes:
    """``data`` with a few bytes overwritten, inserted or deleted."""
    result = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        at = rng.randrange(len(result))
        action = rng.choice(("overwrite", "insert", "delete"))
        if action == "overwrite":
            result[at] = rng.randrange(256)
        elif action == "insert":
            result[at:at] = rng.randbytes(rng.randint(1, 4))
        else:
            del result[at : at + rng.randint(1, 4)]
    return bytes(result)
