"""Originals backup and restore against the session's real nats-server: a directory copy
that is incremental, verified by sha256 both ways, and gives back every original after the
bucket is lost. The end-to-end drill with the bot is ``test_restore_drill``."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
import tracemalloc
from pathlib import Path

import pytest
from nats.aio.client import Client
from nats.js.errors import ObjectNotFoundError

from devstack.nats import NatsServer
from tests.conftest import reset_jetstream
from vitrina_common.messaging.topology import ORIGINALS_BUCKET
from vitrina_common.storage.backup_dir import (
    BackupBusyError,
    BackupDir,
    ChecksumMismatchError,
)
from vitrina_common.storage.objects import ImageStore, ObjectNotStoredError
from vitrina_common.storage.originals_backup import (
    BucketMissingError,
    backup_originals,
    restore_originals,
)

pytestmark = pytest.mark.nats


def originals(count: int) -> list[bytes]:
    """Distinct images' worth of bytes; one spans many 128 KB NATS chunks."""
    blobs = [b"\xff\xd8" + os.urandom(1000 + n) + b"\xff\xd9" for n in range(count - 1)]
    return [*blobs, os.urandom(3 * 1024 * 1024 + 7)]


async def stored(client: Client, blobs: list[bytes]) -> dict[str, bytes]:
    store = ImageStore(client.jetstream())
    return {await store.put_original(blob): blob for blob in blobs}


def modified_times(root: Path) -> dict[Path, int]:
    return {path: path.stat().st_mtime_ns for path in root.glob("objects/*/*")}


def hidden_files(root: Path) -> list[Path]:
    return list(root.glob("objects/*/.*"))


async def lose_every_bucket(client: Client) -> None:
    """What losing the NATS volumes and reinstalling leaves: an empty, provisioned JetStream."""
    await reset_jetstream(client)


async def test_backup_wipe_restore_gives_every_original_back_byte_for_byte(
    nats_client: Client, tmp_path: Path
) -> None:
    kept = await stored(nats_client, originals(6))
    backup = await backup_originals(nats_client.jetstream(), tmp_path)
    await lose_every_bucket(nats_client)
    with pytest.raises(ObjectNotStoredError):
        await ImageStore(nats_client.jetstream()).get_original(next(iter(kept)))

    restored = await restore_originals(nats_client.jetstream(), tmp_path)

    assert (backup.copied, backup.ok) == (6, True)
    assert (restored.restored, restored.present, restored.ok) == (6, 0, True)
    assert restored.restored_bytes == sum(len(blob) for blob in kept.values())
    store = ImageStore(nats_client.jetstream())
    for key, blob in kept.items():
        assert await store.get_original(key) == blob


async def test_backup_files_are_named_by_sha256_and_listed_in_the_manifest(
    nats_client: Client, tmp_path: Path
) -> None:
    kept = await stored(nats_client, originals(3))

    await backup_originals(nats_client.jetstream(), tmp_path)

    layout = BackupDir(tmp_path)
    for key in kept:
        path = layout.path_of(key)
        assert path == tmp_path / "objects" / key[:2] / key
        assert hashlib.sha256(path.read_bytes()).hexdigest() == key
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["objects"] == {key: len(blob) for key, blob in kept.items()}
    assert manifest["bucket"] == ORIGINALS_BUCKET.name
    assert hidden_files(tmp_path) == [], "no temporary file left behind"


async def test_second_backup_copies_nothing_and_a_later_one_only_what_is_new(
    nats_client: Client, tmp_path: Path
) -> None:
    await stored(nats_client, originals(4))
    first = await backup_originals(nats_client.jetstream(), tmp_path)
    mtimes = modified_times(tmp_path)

    second = await backup_originals(nats_client.jetstream(), tmp_path)
    [new_key] = await stored(nats_client, [b"a new upload"])
    third = await backup_originals(nats_client.jetstream(), tmp_path)

    assert (first.copied, second.copied, second.unchanged) == (4, 0, 4)
    assert (third.copied, third.unchanged) == (1, 4)
    assert {p: t for p, t in modified_times(tmp_path).items() if p in mtimes} == mtimes
    assert new_key in BackupDir(tmp_path).read_manifest()


async def test_restore_puts_back_only_what_the_bucket_lacks(
    nats_client: Client, tmp_path: Path
) -> None:
    kept = await stored(nats_client, originals(4))
    await backup_originals(nats_client.jetstream(), tmp_path)
    lost = min(kept)
    await (await nats_client.jetstream().object_store(ORIGINALS_BUCKET.name)).delete(lost)

    first = await restore_originals(nats_client.jetstream(), tmp_path)
    again = await restore_originals(nats_client.jetstream(), tmp_path)

    assert (first.restored, first.present) == (1, 3)
    assert (again.restored, again.present) == (0, 4)
    assert await ImageStore(nats_client.jetstream()).get_original(lost) == kept[lost]


async def test_a_corrupted_backup_file_is_reported_and_never_restored(
    nats_client: Client, tmp_path: Path
) -> None:
    kept = await stored(nats_client, originals(4))
    await backup_originals(nats_client.jetstream(), tmp_path)
    rotten = sorted(kept)[1]
    path = BackupDir(tmp_path).path_of(rotten)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # one flipped bit, same size
    path.write_bytes(bytes(data))
    await lose_every_bucket(nats_client)

    report = await restore_originals(nats_client.jetstream(), tmp_path)

    assert report.corrupt == [rotten]
    assert (report.restored, report.ok) == (3, False)
    store = ImageStore(nats_client.jetstream())
    with pytest.raises(ObjectNotStoredError):
        await store.get_original(rotten)
    bucket = await nats_client.jetstream().object_store(ORIGINALS_BUCKET.name)
    with pytest.raises(ObjectNotFoundError):  # not even put and taken back: never there
        await bucket.get_info(rotten, show_deleted=True)
    for key in set(kept) - {rotten}:
        assert await store.get_original(key) == kept[key]


async def test_a_file_lost_from_the_backup_is_reported_missing(
    nats_client: Client, tmp_path: Path
) -> None:
    kept = await stored(nats_client, originals(3))
    await backup_originals(nats_client.jetstream(), tmp_path)
    gone = min(kept)
    BackupDir(tmp_path).path_of(gone).unlink()
    await lose_every_bucket(nats_client)

    report = await restore_originals(nats_client.jetstream(), tmp_path)

    assert (report.missing, report.restored, report.ok) == ([gone], 2, False)


async def test_verify_existing_copies_a_rotted_backup_file_again(
    nats_client: Client, tmp_path: Path
) -> None:
    kept = await stored(nats_client, originals(3))
    await backup_originals(nats_client.jetstream(), tmp_path)
    rotten = sorted(kept)[2]
    path = BackupDir(tmp_path).path_of(rotten)
    path.write_bytes(bytes(len(kept[rotten])))  # same size, zeroed

    cheap = await backup_originals(nats_client.jetstream(), tmp_path)
    thorough = await backup_originals(nats_client.jetstream(), tmp_path, verify_existing=True)

    assert (cheap.copied, cheap.unchanged) == (0, 3)
    assert (thorough.repaired, thorough.copied, thorough.unchanged) == (1, 1, 2)
    assert path.read_bytes() == kept[rotten]


def test_a_backup_that_was_killed_leaves_no_file_that_looks_complete(tmp_path: Path) -> None:
    layout = BackupDir(tmp_path)
    key = hashlib.sha256(b"the real bytes").hexdigest()
    # What a run killed mid-copy leaves: a hidden temporary file beside the final name.
    leftover = layout.path_of(key).with_name(f".{key}.k1ll3d.part")
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"the real by")

    assert layout.stored_keys() == []
    assert layout.size_of(key) is None
    assert layout.remove_leftovers() == 1
    wrong = layout.stage(key)
    wrong.writer.write(b"other bytes")
    with pytest.raises(ChecksumMismatchError):
        wrong.commit()
    wrong.discard()
    assert list(tmp_path.rglob("*")) == [tmp_path / "objects", tmp_path / "objects" / key[:2]]


async def test_a_second_run_on_a_directory_in_use_is_refused(
    nats_client: Client, tmp_path: Path
) -> None:
    await stored(nats_client, originals(2))

    with BackupDir(tmp_path).locked(), pytest.raises(BackupBusyError):
        await backup_originals(nats_client.jetstream(), tmp_path)


async def test_restore_into_an_unprovisioned_jetstream_says_to_provision_first(
    nats_client: Client, tmp_path: Path
) -> None:
    await nats_client.jetstream().delete_object_store(ORIGINALS_BUCKET.name)

    with pytest.raises(BucketMissingError, match="provision"):
        await restore_originals(nats_client.jetstream(), tmp_path)


async def _ops(env: dict[str, str], *args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "vitrina_common.ops", *args,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await process.communicate()
    return process.returncode or 0, output.decode()


async def test_ops_commands_back_up_restore_and_exit_1_on_a_corrupt_file(
    nats_client: Client, nats_server: NatsServer, clean_env: dict[str, str], tmp_path: Path
) -> None:
    kept = await stored(nats_client, originals(3))
    env = {**clean_env, "APP_CONF__NATS__URL": nats_server.url}
    env["APP_CONF__TELEMETRY__LOG_FORMAT"] = "json"
    target = str(tmp_path / "backup")

    backed_up = await _ops(env, "backup-originals", "--dir", target)
    rotten = min(kept)
    BackupDir(Path(target)).path_of(rotten).write_bytes(b"not the original")
    await lose_every_bucket(nats_client)
    restored = await _ops(env, "restore-originals", "--dir", target)
    no_dir = await _ops(env, "restore-originals")

    assert backed_up[0] == 0, backed_up[1]
    assert '"copied": 3' in backed_up[1]
    assert restored[0] == 1, restored[1]
    assert '"restored": 2' in restored[1]
    assert '"corrupt": 1' in restored[1]
    assert rotten in restored[1]
    assert no_dir[0] == 2
    assert "needs --dir" in no_dir[1]


async def test_an_object_is_streamed_not_held_whole_in_memory(
    nats_client: Client, tmp_path: Path
) -> None:
    size = 24 * 1024 * 1024
    await stored(nats_client, [os.urandom(size)])

    tracemalloc.start()
    try:
        await backup_originals(nats_client.jetstream(), tmp_path)
        _, backup_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        await lose_every_bucket(nats_client)
        await restore_originals(nats_client.jetstream(), tmp_path)
        _, restore_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    # Chunks the server pushes ahead of the disk queue up in the subscription, so a backup
    # may hold part of an object; holding it whole (bytes joined) would take twice its size.
    assert backup_peak < size
    assert restore_peak < size // 8
