"""The worker's plan of an import, on a real Object Store: categories looked up (never made),
images read once and stored by sha256, unusable images and same-image duplicates per row."""

from __future__ import annotations

import io
import zipfile

import pytest
from nats.aio.client import Client

from tests.pipeline import jpeg_bytes
from vitrina_common.imports import ImportLimits, ImportReason, RowError
from vitrina_common.storage.objects import ImageStore
from vitrina_worker.jobs.imports_images import build_plan, image_mime

pytestmark = pytest.mark.nats

HEADER = "title;description;price;category;file"
CATEGORIES = {1: "Landscapes", 2: "Cities", 3: "cities"}


def make_zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def csv_of(*rows: str) -> bytes:
    return "\n".join([HEADER, *rows, ""]).encode()


async def originals(client: Client) -> int:
    store = await client.jetstream().object_store("originals")
    try:
        return len(await store.list())
    except Exception:  # noqa: BLE001  (nats-py raises NotFoundError for an empty bucket)
        return 0


def test_images_are_recognised_by_their_signature() -> None:
    assert image_mime(jpeg_bytes(1)) == "image/jpeg"
    assert image_mime(b"\x89PNG\r\n\x1a\n....") == "image/png"
    assert image_mime(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert image_mime(b"GIF89a") is None


async def test_a_plan_stores_each_image_once_and_resolves_categories(
    nats_client: Client,
) -> None:
    sunset = jpeg_bytes(1)
    plan = await build_plan(
        csv_of(
            "Sunset;;150;landscapes;sunset.jpg",
            "Sunset, large;;300;Landscapes;sunset.jpg",
            "Harbour;;90;Seaside;harbour.jpg",
        ),
        make_zip({"sunset.jpg": sunset, "harbour.jpg": jpeg_bytes(2)}),
        ImportLimits(),
        CATEGORIES,
        ImageStore(nats_client.jetstream()),
    )

    assert [(p.row_number, p.category_id, p.category) for p in plan.products] == [
        (2, 1, "Landscapes"),
        (3, 1, "Landscapes"),
    ]
    assert plan.products[0].original_sha256 == plan.products[1].original_sha256
    assert plan.products[0].import_key != plan.products[1].import_key
    assert plan.errors == [RowError(4, ImportReason("category_unknown", {"category": "Seaside"}))]
    assert plan.errors[0].reason.english() == (
        "unknown category 'Seaside': create it in /admin → Categories first, or use an existing one"
    )
    assert await originals(nats_client) == 1  # only images of planned rows are stored
    assert plan.cells[4] == ["Harbour", "", "90", "Seaside", "harbour.jpg"]


async def test_a_category_matching_two_only_by_case_is_unknown_unless_exact(
    nats_client: Client,
) -> None:
    plan = await build_plan(
        csv_of("A;;1;Cities;a.jpg", "B;;1;CITIES;b.jpg"),
        make_zip({"a.jpg": jpeg_bytes(3), "b.jpg": jpeg_bytes(4)}),
        ImportLimits(),
        CATEGORIES,
        ImageStore(nats_client.jetstream()),
    )

    assert [p.category_id for p in plan.products] == [2]
    assert [e.row_number for e in plan.errors] == [3]


async def test_unusable_images_and_same_image_duplicates_fail_their_rows(
    nats_client: Client,
) -> None:
    moon = jpeg_bytes(5)
    plan = await build_plan(
        csv_of(
            "Cat;;10;Cities;cat.gif",
            "Moon;;10;Cities;moon.jpg",
            "Moon;;12;Cities;copy-of-moon.jpg",
        ),
        make_zip({"cat.gif": b"GIF89a" + bytes(50), "moon.jpg": moon, "copy-of-moon.jpg": moon}),
        ImportLimits(),
        CATEGORIES,
        ImageStore(nats_client.jetstream()),
    )

    assert [p.row_number for p in plan.products] == [3]
    assert [(error.row_number, error.reason.english()) for error in plan.errors] == [
        (2, "'cat.gif': the file is not a JPEG, PNG or WebP image"),
        (
            4,
            "duplicate of row 3 (the same title and category, and 'copy-of-moon.jpg' is the"
            " same image)",
        ),
    ]
