"""Peak resident memory of the real bot and worker processes, one input class per fresh
process: what the README's memory table says and what the memory tests assert.

The peak is the larger of the process tree's RSS sampled every 20 ms and the kernel's own
high-water mark of the main process (``VmHWM``), read before the process is stopped, so a
spike between two samples is not missed. Used by ``tests/test_memory_limits.py`` and by
``python -m bench.memory``, which prints the whole table.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from devstack.nats import credentials_env
from devstack.processes import ManagedProcess
from tests.import_files import SessionFactory, batch_count, newest_batch, open_import_screen
from tests.pipeline import settled, upload, wait_until
from tests.services import (
    NATS_PASSWORDS,
    nats_settings,
    process_tree_rss,
    start_service,
    wait_for_status,
)
from tests.storefront import FreshShop
from vitrina_common.db.models import Category, ImportBatch, ImportStatus, Product
from vitrina_common.messaging.connection import connect_nats
from vitrina_common.outbox import NATS_PUBLISH, OutboxRelay, nats_publish_handler
from vitrina_common.services.imports import ImportRequest, StartImport, StoredImportFiles
from vitrina_common.storage.objects import ImageStore

ADMIN = 7700


def high_water_mark(pid: int) -> int:
    """The kernel's peak RSS of ``pid`` (``VmHWM``), in bytes; 0 once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


@dataclass
class RssWatch:
    """Samples a process tree while work runs; ``peak`` once it is over."""

    pid: int
    samples: list[int] = field(default_factory=list)

    @property
    def peak(self) -> int:
        """The largest RSS seen, in bytes."""
        return max([0, *self.samples])

    def take(self) -> None:
        """One sample now (the tree's RSS and the main process's high-water mark)."""
        self.samples.append(max(process_tree_rss(self.pid), high_water_mark(self.pid)))

    @contextlib.asynccontextmanager
    async def watching(self) -> AsyncIterator[RssWatch]:
        """Sample every 20 ms until the block ends, and once more at its end."""

        async def sample() -> None:
            while True:
                self.take()
                await asyncio.sleep(0.02)

        task = asyncio.create_task(sample())
        try:
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            self.take()


@contextlib.asynccontextmanager
async def service(
    name: str, fresh: FreshShop, logs: Path, env: Mapping[str, str] | None = None
) -> AsyncIterator[tuple[ManagedProcess, RssWatch]]:
    """``vitrina-<name>`` on ``fresh``'s servers, ready, watched; stopped at the end."""
    # A fork would share the zygote's pages: what a process holds is measured on its own.
    process, port = await start_service(
        name, {**fresh.env, **(env or {})}, logs, fresh_interpreter=True
    )
    try:
        await wait_for_status(port, "/readyz", 200, process)
        async with RssWatch(process.pid).watching() as watch:
            yield process, watch
    finally:
        await process.stop(30)


# Runs a module as ``python -m`` would, then writes its own VmHWM where asked: exact for a
# short-lived command, which no sampler from outside can promise (and ``wait4``'s maxrss is
# not: it counts the parent's memory the child had before ``exec``).
_HWM_WRAPPER = """
import atexit, runpy, sys
out, module = sys.argv[1], sys.argv[2]
def record():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            open(out, "w").write(line.split()[1])
atexit.register(record)
sys.argv = [module, *sys.argv[3:]]
runpy.run_module(module, run_name="__main__", alter_sys=True)
"""


def module_peak(module: str, args: Sequence[str], env: Mapping[str, str], scratch: Path) -> int:
    """Run ``python -m module args`` to its end; its peak RSS. Raises when it fails."""
    scratch.mkdir(parents=True, exist_ok=True)
    out = scratch / f"{module}-{uuid.uuid4().hex}.hwm"
    result = subprocess.run(
        [sys.executable, "-c", _HWM_WRAPPER, str(out), module, *args],
        env=dict(env),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{module} exited {result.returncode}: {result.stderr[-2000:]}")
    return int(out.read_text()) * 1024


async def bot_receiving(
    fresh: FreshShop, logs: Path, path: Path, *, file_name: str, mime: str, caption: str | None
) -> int:
    """Peak RSS of the bot taking the document at ``path`` (an import ZIP on the import
    screen when ``caption`` is None, else an upload), until it recorded it or said why not."""
    telegram = fresh.telegram
    env = {"APP_CONF__BOT__ADMIN_IDS": f"[{ADMIN}]", "APP_CONF__BOT__API_IS_LOCAL": "true"}
    async with service("bot", fresh, logs, env) as (_, watch):
        if caption is None:
            await open_import_screen(telegram, ADMIN)
        before = len(telegram.calls_of("sendMessage"))
        telegram.push_local_document(ADMIN, path, caption, file_name=file_name, mime_type=mime)
        await wait_until(lambda: _taken(fresh, caption is None, before), timeout_s=300)
    refusals = [
        text for text in _answers(fresh, before) if text.startswith(("❌ Not taken", "Not added"))
    ]
    if refusals:
        raise AssertionError(f"the bot refused the file: {refusals[0]}")
    return watch.peak


def _answers(fresh: FreshShop, after: int) -> list[str]:
    return [str(call.params.get("text", "")) for call in fresh.telegram.calls_of("sendMessage")][
        after:
    ]


async def _taken(fresh: FreshShop, is_import: bool, before: int) -> bool:
    if any(text.startswith(("❌ Not taken", "Not added")) for text in _answers(fresh, before)):
        return True
    if is_import:
        return await batch_count(fresh.sessions) > 0
    async with fresh.sessions() as session:
        return (await session.execute(select(Product.id).limit(1))).first() is not None


async def worker_idle(fresh: FreshShop, logs: Path, env: Mapping[str, str] | None = None) -> int:
    """Peak RSS of a worker that started and has nothing to do: the base the others add to."""
    async with service("worker", fresh, logs, env) as (_, watch):
        await asyncio.sleep(2)
    return watch.peak


async def worker_rendering(
    fresh: FreshShop, logs: Path, data: bytes, env: Mapping[str, str] | None = None
) -> tuple[int, Product]:
    """Peak RSS of a worker rendering ``data`` as one product's preview, and the product
    as it ended (ready, or failed with its reason)."""
    client = await connect_nats(nats_settings(fresh.nats_url), name="memory")
    try:
        await upload(client, fresh.sessions, [("large", data)])
    finally:
        await client.close()
    async with service("worker", fresh, logs, env) as (_, watch):
        await wait_until(lambda: settled(fresh.sessions, 1), timeout_s=300)
    async with fresh.sessions() as session:
        product = (await session.execute(select(Product))).scalar_one()
    return watch.peak, product


async def worker_planning(
    fresh: FreshShop, logs: Path, zip_path: Path, env: Mapping[str, str] | None = None
) -> tuple[int, ImportBatch]:
    """Peak RSS of a worker planning an import of the ZIP at ``zip_path`` (CSV inside,
    category "Tests"), until the plan is recorded or refused; the batch as it ended."""
    async with fresh.sessions() as session, session.begin():
        session.add(Category(title="Tests"))
    key = f"{uuid.uuid4().hex}.zip"
    client = await connect_nats(nats_settings(fresh.nats_url), name="memory")
    try:
        bucket = await client.jetstream().object_store("imports")
        with zip_path.open("rb") as file:
            await bucket.put(key, file)
        request = ImportRequest(ADMIN, ADMIN, 1, StoredImportFiles(key, zip_path.name))
        await StartImport(fresh.sessions)(request)
        relay = OutboxRelay(
            fresh.sessions, {NATS_PUBLISH: nats_publish_handler(client.jetstream())}
        )
        while await relay.deliver_due():
            pass
    finally:
        await client.close()
    async with service("worker", fresh, logs, env) as (_, watch):
        await wait_until(lambda: _planned(fresh.sessions), timeout_s=300)
    batch = await newest_batch(fresh.sessions)
    assert batch is not None
    return watch.peak, batch


async def _planned(sessions: SessionFactory) -> bool:
    batch = await newest_batch(sessions)
    return batch is not None and batch.status is not ImportStatus.PLANNING


async def originals_backup(
    fresh: FreshShop, scratch: Path, originals: Sequence[Path], env: Mapping[str, str]
) -> tuple[int, Path]:
    """Peak RSS of ``vitrina-ops backup-originals``, as the CronJob runs it, copying the
    files at ``originals`` (stored as originals first) into an empty directory; the
    directory."""
    client = await connect_nats(nats_settings(fresh.nats_url), name="memory")
    try:
        store = ImageStore(client.jetstream())
        for path in originals:
            with path.open("rb") as file:
                await store.put_original_file(file, await asyncio.to_thread(_sha256, path))
    finally:
        await client.close()
    backup = scratch / "originals-backup"
    args = ["backup-originals", "--dir", str(backup)]
    # As the CronJob: the backup user, who may only read the originals.
    env = {**env, **credentials_env("backup", NATS_PASSWORDS)}
    peak = await asyncio.to_thread(module_peak, "vitrina_common.ops", args, env, scratch)
    return peak, backup


def _sha256(path: Path) -> str:
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()
