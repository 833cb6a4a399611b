"""What the bot takes as an import file before downloading it, what it refuses at once and
in which words, and when the files received so far make a whole import."""

from __future__ import annotations

import re
from pathlib import Path
from typing import cast

import pytest
from aiogram import Bot

from tests.conftest import ROOT
from vitrina_bot.downloads import Downloads
from vitrina_bot.i18n.catalog import load_catalogs
from vitrina_bot.imports.intake import (
    ImportFileKind,
    ImportFileRefusedError,
    ImportIntake,
    IncomingDocument,
    IntakeLimits,
    ReceivedFile,
)
from vitrina_bot.imports.pending import PendingImport
from vitrina_common.db.models import Language
from vitrina_common.imports import ImportLimits, parse_csv
from vitrina_common.outbox import OutboxRelay
from vitrina_common.services.imports import StartImport, StoredImportFiles
from vitrina_common.storage.capacity import StorageRoom
from vitrina_common.storage.import_files import ImportFiles

MIB = 1024 * 1024
INTAKE = Path(ROOT / "services/bot/src/vitrina_bot/imports/intake.py")


def intake(*, cloud_api: bool = True) -> ImportIntake:
    limits = IntakeLimits(
        ImportLimits(max_csv_bytes=MIB), max_zip_bytes=100 * MIB, cloud_api=cloud_api
    )
    return ImportIntake(
        cast(Bot, None),
        cast(ImportFiles, None),
        cast(StartImport, None),
        cast(OutboxRelay, None),
        limits,
        previews_to_admin=True,
        room=cast(StorageRoom, None),
        downloads=cast(Downloads, None),
    )


def document(
    name: str, size: int = 1000, mime: str = "application/octet-stream"
) -> IncomingDocument:
    return IncomingDocument(file_id="f", file_name=name, mime=mime, size=size)


@pytest.mark.parametrize(
    ("name", "mime", "kind"),
    [
        ("products.csv", "application/vnd.ms-excel", ImportFileKind.CSV),  # Windows' type
        ("ТОВАРЫ.CSV", "text/csv", ImportFileKind.CSV),
        ("export.tsv", "text/tab-separated-values", ImportFileKind.CSV),
        ("images.zip", "application/zip", ImportFileKind.ZIP),
        ("", "application/x-zip-compressed", ImportFileKind.ZIP),
        ("", "text/plain", ImportFileKind.CSV),
    ],
)
def test_files_are_told_apart_by_name_then_type(name: str, mime: str, kind: ImportFileKind) -> None:
    assert intake().classify(document(name, mime=mime)) is kind


@pytest.mark.parametrize(
    ("incoming", "code", "arguments"),
    [
        (document("Книга1.xlsx"), "spreadsheet", {"name": "Книга1.xlsx"}),
        (document("photo.jpg", mime="image/jpeg"), "not_csv_or_zip", {"name": "photo.jpg"}),
        (document("big.csv", size=3 * MIB), "csv_too_big", {"size": "3", "limit": "1"}),
        (document("big.zip", size=150 * MIB), "zip_too_big", {"size": "150", "limit": "100"}),
        (document("cloud.zip", size=25 * MIB), "cloud_limit", {"size": "25"}),
    ],
)
def test_wrong_or_oversized_files_are_refused_before_any_download(
    incoming: IncomingDocument, code: str, arguments: dict[str, str]
) -> None:
    with pytest.raises(ImportFileRefusedError) as refused:
        intake().classify(incoming)

    assert (refused.value.code, refused.value.arguments) == (code, arguments)


def test_a_local_bot_api_server_lifts_the_cloud_download_limit() -> None:
    assert intake(cloud_api=False).classify(document("big.zip", 25 * MIB)) is ImportFileKind.ZIP


def test_every_refusal_reads_in_both_languages() -> None:
    source = INTAKE.read_text()
    codes = set(re.findall(r'ImportFileRefusedError\(\s*"([a-z_]+)"', source))
    codes |= {f"{kind.value}_too_big" for kind in ImportFileKind} | {"unreadable"}
    for language in Language:
        catalog = load_catalogs()[language]
        assert {f"admin.import.reason.{code}" for code in codes} <= set(catalog)


def received(kind: ImportFileKind, carries_csv: bool = False) -> ReceivedFile:
    return ReceivedFile(kind, f"key.{kind.value}", f"file.{kind.value}", carries_csv)


def test_a_csv_and_a_zip_in_either_order_make_an_import() -> None:
    csv, images = received(ImportFileKind.CSV), received(ImportFileKind.ZIP)

    assert PendingImport().with_file(csv).ready() is None
    assert PendingImport().with_file(images).ready() is None
    both = StoredImportFiles("key.zip", "file.zip", "key.csv", "file.csv")
    assert PendingImport().with_file(csv).with_file(images).ready() == both
    assert PendingImport().with_file(images).with_file(csv).ready() == both


def test_a_zip_carrying_its_csv_is_an_import_on_its_own() -> None:
    bundle = received(ImportFileKind.ZIP, carries_csv=True)

    assert PendingImport().with_file(bundle).ready() == StoredImportFiles("key.zip", "file.zip")


def test_pending_files_survive_the_dialog_data_round_trip() -> None:
    data: dict[str, object] = {"other": 1}
    pending = PendingImport().with_file(received(ImportFileKind.ZIP))

    pending.save(data)

    assert PendingImport.load(data) == pending
    PendingImport().save(data)
    assert data == {"other": 1}


@pytest.mark.parametrize("name", ["products.csv", "products-excel-cp1251.csv"])
def test_the_example_csvs_import_without_a_failed_row(name: str) -> None:
    parsed = parse_csv((ROOT / "examples" / name).read_bytes())

    assert (len(parsed.rows), parsed.errors) == (4, [])
    assert parsed.encoding == ("utf-8" if name == "products.csv" else "cp1251")
