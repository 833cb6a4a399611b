"""Files from Telegram go to disk, not memory: there for exactly as long as the caller's block,
cut off past the caller's limit whatever size Telegram stated, and gone afterwards on every
path (success, refusal, exception); a killed process's leftovers go at the next start."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any, BinaryIO, cast

import pytest
from aiogram import Bot
from nats.aio.client import Client
from nats.js import JetStreamContext

from tests.import_files import zip_file
from vitrina_bot.downloads import Downloads, DownloadTooLargeError
from vitrina_bot.imports.intake import (
    ImportFileRefusedError,
    ImportIntake,
    IncomingDocument,
    IntakeLimits,
)
from vitrina_bot.uploads.intake import IncomingFile, UploadIntake, UploadLimits, UploadRefusedError
from vitrina_common.imports import ImportLimits
from vitrina_common.outbox import OutboxRelay
from vitrina_common.services.catalog import NewProduct, RegisterUpload
from vitrina_common.services.imports import StartImport
from vitrina_common.storage.capacity import StorageRoom
from vitrina_common.storage.import_files import ImportFiles
from vitrina_common.storage.objects import ImageStore
from vitrina_common.storage.spool import Spool

CHUNK = 64 * 1024
MIB = 1024 * 1024


class ChunkedBot:
    """Telegram's side: writes ``data`` in 64 KiB chunks, as aiogram does; may fail midway."""

    def __init__(self, data: bytes, fail_after: int | None = None) -> None:
        self.data = data
        self.fail_after = fail_after

    async def download(self, file_id: str, destination: BinaryIO, **_: object) -> None:
        del file_id
        for offset in range(0, len(self.data), CHUNK):
            if self.fail_after is not None and offset >= self.fail_after:
                raise ConnectionResetError("the connection dropped")
            destination.write(self.data[offset : offset + CHUNK])
            destination.flush()


def downloads(tmp_path: Path, bot: ChunkedBot) -> Downloads:
    return Downloads(cast(Bot, bot), Spool(tmp_path, "bot"))


def leftovers(tmp_path: Path) -> list[Path]:
    return list(tmp_path.iterdir())


async def test_a_download_is_on_disk_while_the_block_runs_and_gone_after(tmp_path: Path) -> None:
    data = os.urandom(300_000)

    async with downloads(tmp_path, ChunkedBot(data)).fetch("f", 1_000_000, hashed=True) as got:
        assert got.path.read_bytes() == data
        assert (got.size, got.sha256) == (len(data), hashlib.sha256(data).hexdigest())
        assert got.file.read() == data  # rewound, ready to be stored

    assert leftovers(tmp_path) == []


async def test_a_download_past_its_limit_is_cut_off_and_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(DownloadTooLargeError) as over:
        async with downloads(tmp_path, ChunkedBot(bytes(1_000_000))).fetch("f", 200_000):
            pytest.fail("the block must not run")

    assert over.value.limit == 200_000
    assert 200_000 < over.value.received <= 200_000 + CHUNK
    assert leftovers(tmp_path) == []


async def test_a_download_that_breaks_leaves_nothing(tmp_path: Path) -> None:
    bot = ChunkedBot(bytes(500_000), fail_after=2 * CHUNK)

    with pytest.raises(ConnectionResetError):
        async with downloads(tmp_path, bot).fetch("f", 1_000_000):
            pytest.fail("the block must not run")

    assert leftovers(tmp_path) == []


async def test_a_failure_while_the_file_is_used_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="storing failed"):
        async with downloads(tmp_path, ChunkedBot(b"zip")).fetch("f", 1_000):
            raise RuntimeError("storing failed")

    assert leftovers(tmp_path) == []


def test_a_start_deletes_what_dead_processes_of_the_service_left(tmp_path: Path) -> None:
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)  # fmt: skip
    dead = tmp_path / f"vitrina-bot-{finished.stdout.strip()}-abc"
    # A container restart gives the new process the dead one's pid: its own pid is a leftover.
    restarted = tmp_path / f"vitrina-bot-{os.getpid()}-def"
    living = tmp_path / f"vitrina-bot-{os.getppid()}-ghi"
    other_service = tmp_path / f"vitrina-worker-{finished.stdout.strip()}-jkl"
    for path in (dead, restarted, living, other_service):
        path.write_bytes(b"partial download")

    assert Spool(tmp_path, "bot").prepare() == 2
    assert sorted(leftovers(tmp_path)) == sorted([living, other_service])


# --- the intakes on top: what is refused leaves nothing behind ------------------------------


def upload_intake(js: JetStreamContext, tmp_path: Path, bot: ChunkedBot) -> UploadIntake:
    async def register(*_: Any, **__: Any) -> Any:
        raise AssertionError("a refused upload must not be registered")

    return UploadIntake(
        downloads(tmp_path, bot),
        ImageStore(js),
        cast(RegisterUpload, register),
        cast(OutboxRelay, SimpleNamespace(wake=lambda: None)),
        UploadLimits(max_bytes=MIB, cloud_api=False),
        StorageRoom(js, full_percent=90),
    )


def import_intake(js: JetStreamContext, tmp_path: Path, bot: ChunkedBot) -> ImportIntake:
    return ImportIntake(
        cast(Bot, bot),
        ImportFiles(js),
        cast(StartImport, None),
        cast(OutboxRelay, None),
        IntakeLimits(ImportLimits(), max_zip_bytes=MIB, cloud_api=False),
        previews_to_admin=True,
        room=StorageRoom(js, full_percent=90),
        downloads=downloads(tmp_path, bot),
    )


async def stored_objects(js: JetStreamContext, bucket: str) -> int:
    return (await js.stream_info(f"OBJ_{bucket}")).state.messages


@pytest.mark.nats
async def test_an_upload_larger_than_telegram_said_is_refused_and_nothing_is_stored(
    nats_client: Client, tmp_path: Path
) -> None:
    js = nats_client.jetstream()
    incoming = IncomingFile(file_id="f", size=1024, mime="image/jpeg", is_original=True)
    intake = upload_intake(js, tmp_path, ChunkedBot(bytes(2 * MIB)))

    with pytest.raises(UploadRefusedError) as refused:
        await intake.accept(incoming, NewProduct("Sunset", 10, "Landscapes"), 42)

    assert (refused.value.code, refused.value.arguments["limit"]) == ("too_big", "1")
    assert await stored_objects(js, "originals") == 0
    assert leftovers(tmp_path) == []


@pytest.mark.nats
async def test_an_unreadable_import_zip_is_refused_and_leaves_no_file(
    nats_client: Client, tmp_path: Path
) -> None:
    js = nats_client.jetstream()
    document = IncomingDocument("f", "images.zip", "application/zip", None)

    with pytest.raises(ImportFileRefusedError) as refused:
        await import_intake(js, tmp_path, ChunkedBot(b"not a zip")).receive(document)

    assert refused.value.code == "unreadable"
    assert await stored_objects(js, "imports") == 0
    assert leftovers(tmp_path) == []


@pytest.mark.nats
async def test_an_import_zip_is_stored_as_sent_and_its_spool_file_deleted(
    nats_client: Client, tmp_path: Path
) -> None:
    js = nats_client.jetstream()
    data = zip_file({"products.csv": b"title;price", "a.jpg": os.urandom(300_000)})
    document = IncomingDocument("f", "images.zip", "application/zip", len(data))

    received = await import_intake(js, tmp_path, ChunkedBot(data)).receive(document)

    assert received.carries_csv
    assert await ImportFiles(js).get(received.key) == data
    assert leftovers(tmp_path) == []
