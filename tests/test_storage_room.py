"""A nearly full originals bucket refuses new images before anything is downloaded or
stored: an admin's upload, an import's files in the bot, an import's plan in the worker,
each with a message in the admin's language. Below the threshold they go through."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, BinaryIO, cast

import pytest
from aiogram import Bot
from nats.aio.client import Client
from nats.js import JetStreamContext

from tests.pipeline import jpeg_bytes
from vitrina_bot.downloads import Downloads
from vitrina_bot.i18n import translator_for
from vitrina_bot.imports.intake import (
    ImportFileRefusedError,
    ImportIntake,
    IncomingDocument,
    IntakeLimits,
)
from vitrina_bot.uploads.intake import IncomingFile, UploadIntake, UploadLimits, UploadRefusedError
from vitrina_common.config import NatsSettings
from vitrina_common.db.models import Language
from vitrina_common.imports import ImportLimits, ImportReason
from vitrina_common.messaging.contracts import ImportPlanJob
from vitrina_common.messaging.provisioning import provision_jetstream
from vitrina_common.outbox import OutboxRelay
from vitrina_common.services.catalog import NewProduct, RegisterUpload
from vitrina_common.services.imports import StartImport
from vitrina_common.services.imports_planning import ImportPlanning
from vitrina_common.storage.capacity import BucketFill, StorageRoom
from vitrina_common.storage.import_files import ImportFiles
from vitrina_common.storage.objects import ImageStore, ObjectNotStoredError
from vitrina_common.storage.spool import Spool
from vitrina_worker.jobs.imports_plan import ImportPlanHandler
from vitrina_worker.jobs.imports_settle import ImportJobLimits

pytestmark = pytest.mark.nats

KIB = 1024
ORIGINALS_LIMIT = 200 * KIB
ADMIN_CHAT = 42
# The system's temporary directory: each file is deleted as its download or plan ends.
SPOOL = Spool(None, "tests")


class FakeBot:
    """Telegram's side of a download: the file's bytes, and whether anyone asked."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.downloads: list[str] = []

    async def download(self, file_id: str, destination: BinaryIO, **_: object) -> None:
        self.downloads.append(file_id)
        destination.write(self.data)


async def small_originals(client: Client, fill: int, **limits: int) -> JetStreamContext:
    """The topology with an originals bucket that may hold 200 KiB and holds ``fill`` bytes."""
    js = client.jetstream()
    settings = NatsSettings.model_validate({"originals_max_bytes": ORIGINALS_LIMIT, **limits})
    await provision_jetstream(js, settings)
    if fill:
        await ImageStore(js).put_original(bytes(fill))
    return js


def upload_intake(js: JetStreamContext, bot: FakeBot, registered: list[NewProduct]) -> UploadIntake:
    async def register(product: NewProduct, *_: Any, **__: Any) -> Any:
        registered.append(product)
        return SimpleNamespace(product_id=len(registered))

    return UploadIntake(
        Downloads(cast(Bot, bot), SPOOL),
        ImageStore(js),
        cast(RegisterUpload, register),
        cast(OutboxRelay, SimpleNamespace(wake=lambda: None)),
        UploadLimits(max_bytes=10 * 1024 * KIB, cloud_api=False),
        StorageRoom(js, full_percent=90),
    )


def document(size: int | None) -> IncomingFile:
    return IncomingFile(file_id="f", size=size, mime="image/jpeg", is_original=True)


def test_the_fill_counts_what_is_about_to_be_stored() -> None:
    fill = BucketFill("originals", used=80, limit=100)

    assert fill.percent_after(0) == 80
    assert fill.percent_after(15) == 95
    assert BucketFill("originals", used=10**12, limit=None).percent_after(10**12) == 0


async def test_an_upload_is_refused_before_its_download_when_originals_are_nearly_full(
    nats_client: Client,
) -> None:
    js = await small_originals(nats_client, fill=185 * KIB)
    bot, registered = FakeBot(jpeg_bytes(1)), list[NewProduct]()
    intake = upload_intake(js, bot, registered)

    with pytest.raises(UploadRefusedError) as refused:
        await intake.accept(document(10 * KIB), NewProduct("Sunset", 10, "Landscapes"), ADMIN_CHAT)

    assert refused.value.code == "storage_full"
    assert (bot.downloads, registered) == ([], [])
    english = translator_for(Language.EN)("upload.reason.storage_full", **refused.value.arguments)
    assert re.match(
        r"the shop's image storage is nearly full: 0\.2 of 0\.2 MB used, and this file would "
        r"take it to 9\d% \(new images stop at 90%\)",
        english,
    )
    russian = translator_for(Language.RU)("upload.reason.storage_full", **refused.value.arguments)
    assert "почти заполнено" in russian


async def test_a_file_of_unknown_size_is_measured_after_its_download_and_refused(
    nats_client: Client,
) -> None:
    js = await small_originals(nats_client, fill=150 * KIB)
    bot, registered = FakeBot(bytes(40 * KIB)), list[NewProduct]()

    with pytest.raises(UploadRefusedError):
        await upload_intake(js, bot, registered).accept(
            document(None), NewProduct("Big", 10, "Landscapes"), ADMIN_CHAT
        )

    assert (bot.downloads, registered) == (["f"], [])


async def test_an_upload_with_room_to_spare_is_stored(nats_client: Client) -> None:
    js = await small_originals(nats_client, fill=100 * KIB)
    bot, registered = FakeBot(jpeg_bytes(2)), list[NewProduct]()

    product_id = await upload_intake(js, bot, registered).accept(
        document(None), NewProduct("Sunset", 10, "Landscapes"), ADMIN_CHAT
    )

    assert product_id == 1
    assert [product.title for product in registered] == ["Sunset"]


def import_intake(js: JetStreamContext, bot: FakeBot) -> ImportIntake:
    return ImportIntake(
        cast(Bot, bot),
        ImportFiles(js),
        cast(StartImport, None),
        cast(OutboxRelay, None),
        IntakeLimits(ImportLimits(), max_zip_bytes=1024 * KIB, cloud_api=False),
        previews_to_admin=True,
        room=StorageRoom(js, full_percent=90),
        downloads=Downloads(cast(Bot, bot), SPOOL),
    )


def zip_document(size: int) -> IncomingDocument:
    return IncomingDocument("f", "images.zip", "application/zip", size)


async def test_an_import_zip_is_refused_before_its_download_when_originals_are_nearly_full(
    nats_client: Client,
) -> None:
    js = await small_originals(nats_client, fill=150 * KIB)
    bot = FakeBot(b"")

    with pytest.raises(ImportFileRefusedError) as refused:
        await import_intake(js, bot).receive(zip_document(40 * KIB))

    assert refused.value.code == "storage_full"
    assert bot.downloads == []
    text = refused.value.render(translator_for(Language.EN))
    assert "the images of this import would take it to 9" in text


async def test_an_import_file_that_does_not_fit_the_imports_bucket_waits_for_the_others(
    nats_client: Client,
) -> None:
    js = await small_originals(nats_client, fill=0, imports_max_bytes=64 * KIB)

    with pytest.raises(ImportFileRefusedError) as refused:
        await import_intake(js, FakeBot(b"")).receive(zip_document(100 * KIB))

    assert refused.value.code == "imports_storage_full"
    russian = refused.value.render(translator_for(Language.RU))
    assert "файлы других импортов" in russian


# --- the worker's plan job -----------------------------------------------------------------


@dataclass
class FakePlanning:
    """The plan job's use cases: one batch to plan, and what became of it."""

    refused: list[ImportReason] = field(default_factory=list)
    recorded: list[object] = field(default_factory=list)

    async def batch_to_plan(self, batch_id: int) -> Any:
        return SimpleNamespace(id=batch_id, zip_key="batch.zip", csv_key=None)

    async def categories(self) -> dict[int, str]:
        return {1: "Landscapes"}

    async def refuse(self, _batch_id: int, reason: ImportReason) -> bool:
        self.refused.append(reason)
        return True

    async def record(self, _batch_id: int, plan: object) -> bool:
        self.recorded.append(plan)
        return True


@dataclass
class FakeMessage:
    """A delivery of the plan job, and how the handler settled it."""

    body: bytes
    settled: list[str] = field(default_factory=list)
    raw_message: Any = field(
        default_factory=lambda: SimpleNamespace(metadata=SimpleNamespace(num_delivered=1))
    )

    async def ack(self) -> None:
        self.settled.append("ack")

    async def nack(self, **_: object) -> None:
        self.settled.append("nack")

    async def reject(self) -> None:
        self.settled.append("reject")

    async def in_progress(self) -> None:
        pass


def import_zip(images: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        rows = [f"Image {n};;10;Landscapes;{n}.jpg" for n in range(images)]
        archive.writestr(
            "products.csv", "\n".join(["title;description;price;category;file", *rows])
        )
        for n in range(images):
            archive.writestr(f"{n}.jpg", jpeg_bytes(n, (160, 120), quality=95) + bytes(16 * KIB))
    return buffer.getvalue()


async def plan(js: JetStreamContext, zip_bytes: bytes) -> tuple[FakePlanning, FakeMessage]:
    await ImportFiles(js).put("batch.zip", zip_bytes)
    planning = FakePlanning()
    handler = ImportPlanHandler(
        js,
        cast(ImportPlanning, planning),
        ImportLimits(),
        ImportJobLimits(max_deliver=5, ack_wait_s=60),
        lambda: None,
        StorageRoom(js, full_percent=90),
        SPOOL,
    )
    message = FakeMessage(ImportPlanJob(batch_id=7).model_dump_json().encode())
    await handler(cast(Any, message))
    return planning, message


async def test_the_plan_job_refuses_an_import_whose_images_would_fill_the_originals(
    nats_client: Client,
) -> None:
    js = await small_originals(nats_client, fill=120 * KIB)

    planning, message = await plan(js, import_zip(images=6))

    [reason] = planning.refused
    assert reason.code == "originals_full"
    assert reason.english().startswith("the shop's image storage is nearly full")
    assert (planning.recorded, message.settled) == ([], ["ack"])
    assert (await js.stream_info("OBJ_originals")).state.messages == 2  # only the filler
    with pytest.raises(ObjectNotStoredError):  # the ZIP is deleted, not left to fill a bucket
        await ImportFiles(js).get("batch.zip")


async def test_the_plan_job_stores_an_import_that_fits(nats_client: Client) -> None:
    js = await small_originals(nats_client, fill=0)

    planning, message = await plan(js, import_zip(images=6))

    assert (planning.refused, len(planning.recorded), message.settled) == ([], 1, ["ack"])
