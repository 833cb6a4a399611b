"""The import through the real thing: the ZIP in the ``imports`` bucket, an import recorded
the way the bot records it (batch + plan job in the outbox), worker processes on the shared
durable consumers, and the clock running from the plan job's publish until the database
says every row is settled (each product committed with its render job)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.pipeline import migrate, start_workers
from devstack.nats import NatsServer
from devstack.postgres import EmbeddedPostgres
from tests.services import nats_settings
from vitrina_common.config import DbSettings
from vitrina_common.db.engine import create_engine, create_session_factory
from vitrina_common.db.models import Category, ImportBatch, ImportStatus
from vitrina_common.imports.reasons import ImportReason, verbatim
from vitrina_common.messaging.connection import connect_nats
from vitrina_common.messaging.provisioning import provision_jetstream
from vitrina_common.outbox import NATS_PUBLISH, OutboxRelay, nats_publish_handler
from vitrina_common.services.imports import ImportRequest, StartImport, StoredImportFiles
from vitrina_common.storage.import_files import ImportFiles

from .files import CATEGORIES

SessionFactory = async_sessionmaker[AsyncSession]


@dataclass(frozen=True)
class ImportTiming:
    """Seconds from the plan job's publish until the plan was committed, and until done."""

    planned_s: float
    done_s: float
    imported: int
    failed: int


async def _batch(sessions: SessionFactory, batch_id: int) -> ImportBatch:
    async with sessions() as session:
        batch = await session.get(ImportBatch, batch_id)
        assert batch is not None
        return batch


async def timed_import(
    pg: EmbeddedPostgres, nats: NatsServer, zip_bytes: bytes, workers: int, logs: Path
) -> ImportTiming:
    """Import ``zip_bytes`` (CSV inside) on a fresh database with ``workers`` processes."""
    name = f"bench_import_{workers}"
    await pg.ensure_database(name)
    dsn = pg.dsn(name)
    await migrate(dsn)
    engine = create_engine(DbSettings.model_validate({"dsn": dsn}))
    sessions = create_session_factory(engine)
    client = await connect_nats(nats_settings(nats.url), name="bench-import")
    js = client.jetstream()
    for stream in await js.streams_info():
        await js.delete_stream(stream.config.name or "")
    await provision_jetstream(js)
    async with sessions() as session, session.begin():
        session.add_all(Category(title=title) for title in CATEGORIES)
    await ImportFiles(js).put("bench.zip", zip_bytes)
    # Default worker settings, with the ZIP size allowed so the bench file is accepted.
    settings = {"APP_CONF__IMPORTS__MAX_ZIP_BYTES": str(len(zip_bytes) + 1)}
    processes = await start_workers(workers, dsn, nats.url, logs, settings, "import-worker")
    batch_id = await StartImport(sessions)(
        ImportRequest(
            admin_telegram_id=1,
            chat_id=1,
            progress_message_id=1,
            files=StoredImportFiles(zip_key="bench.zip", zip_name="bench.zip"),
        )
    )
    relay = OutboxRelay(sessions, {NATS_PUBLISH: nats_publish_handler(js)})
    started = time.perf_counter()
    planned_s = 0.0
    try:
        await relay.deliver_due()  # the bot's relay would publish the plan job now
        while (batch := await _batch(sessions, batch_id)).status in {
            ImportStatus.PLANNING,
            ImportStatus.RUNNING,
        }:
            if not planned_s and batch.status is ImportStatus.RUNNING:
                planned_s = time.perf_counter() - started
            await asyncio.sleep(0.02)
        done_s = time.perf_counter() - started
    finally:
        for process in processes:
            await process.stop(30)
        await client.close()
        await engine.dispose()
    if batch.status is not ImportStatus.DONE:
        reason = ImportReason.from_json(batch.refusal_reason or verbatim("?").to_json())
        raise RuntimeError(f"the import was refused: {reason.english()}")
    return ImportTiming(planned_s or done_s, done_s, batch.imported, batch.failed)
