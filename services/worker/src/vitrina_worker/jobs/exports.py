"""``jobs.report.export``: one table as a CSV for Excel, sent to the admin as a document.

Rows come from a server-side cursor a chunk at a time and go straight into a temporary
file, which the Object Store reads in chunks too: a million rows never sit in memory.
The caption says how many rows the file has and in which zone its times are.
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from zoneinfo import ZoneInfo

from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitrina_common.logging import get_logger
from vitrina_common.messaging.contracts import ArtifactFailed, ArtifactReady, ExportJob
from vitrina_common.messaging.publishing import publish
from vitrina_common.services.reports import EXPORT_HEADERS, ExportRows
from vitrina_common.storage.objects import ImageStore
from vitrina_worker.exports_csv import ExcelCsvWriter
from vitrina_worker.jobs.report_jobs import ReportJobHandler

log = get_logger(__name__)


class ExportHandler(ReportJobHandler[ExportJob]):
    """Handles one ``ExportJob`` delivery."""

    contract = ExportJob

    def __init__(
        self,
        js: JetStreamContext,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        max_deliver: int,
        ack_wait_s: float,
    ) -> None:
        super().__init__(js, max_deliver, ack_wait_s)
        self._store = ImageStore(js)
        self._rows = ExportRows(session_factory)

    def given_up(self, job: ExportJob) -> ArtifactFailed:
        """ "The … CSV could not be made"."""
        return ArtifactFailed(
            job_key=job.msg_id(),
            chat_id=job.chat_id,
            text_key=f"admin.reports.export.{job.table}_failed",
        )

    async def handle(self, job: ExportJob) -> None:
        """Write the CSV, store it, announce it."""
        key = f"exports/{job.request_id}/{job.table}.csv"
        with tempfile.TemporaryFile() as file:
            writer = ExcelCsvWriter(file, EXPORT_HEADERS[job.table], job.timezone)
            async for chunk in self._rows.chunks(job.table):
                writer.write(chunk)
            writer.finish()
            file.seek(0)
            await self._store.put_artifact(key, file)
        today = datetime.now(ZoneInfo(job.timezone)).date()
        await publish(
            self._js,
            ArtifactReady(
                artifact_key=key,
                chat_id=job.chat_id,
                filename=f"{job.table}-{today.isoformat()}.csv",
                kind="document",
                caption_key=f"admin.reports.export.{job.table}_caption",
                caption_args={"count": writer.rows, "timezone": job.timezone},
            ),
        )
        log.info("export sent", table=job.table, rows=writer.rows, chat_id=job.chat_id)
