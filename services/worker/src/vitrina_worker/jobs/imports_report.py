"""``jobs.import.report``: the failed rows of a finished import as a CSV for Excel, stored as
an artifact and sent to the admin by the bot (``ArtifactReady``)."""

from __future__ import annotations

from faststream.nats import NatsMessage
from nats.js import JetStreamContext
from pydantic import ValidationError

from vitrina_common.i18n import translator_for
from vitrina_common.imports import ImportReason, failed_rows_csv
from vitrina_common.logging import get_logger
from vitrina_common.messaging.contracts import ArtifactReady, ImportReportJob
from vitrina_common.messaging.publishing import publish
from vitrina_common.services.imports_rows import ImportReports
from vitrina_common.storage.objects import ImageStore
from vitrina_worker.jobs.imports_settle import ImportJobLimits, settle_import_job

log = get_logger(__name__)

CAPTION_KEY = "admin.import.failed_rows_caption"


def failed_rows_file_name(batch_id: int) -> str:
    """The report's file name (and artifact key): one per import."""
    return f"import-{batch_id}-failed-rows.csv"


class ImportReportHandler:
    """Handles one ``ImportReportJob`` delivery and settles it."""

    def __init__(
        self, js: JetStreamContext, reports: ImportReports, job_limits: ImportJobLimits
    ) -> None:
        self._js = js
        self._store = ImageStore(js)
        self._reports = reports
        self._job_limits = job_limits

    async def __call__(self, message: NatsMessage) -> None:
        """Make and announce the failed-rows CSV (idempotent: same key, same dedup id)."""
        try:
            job = ImportReportJob.model_validate_json(message.body)
        except ValidationError as error:
            log.error("malformed import report job dropped", error=str(error))  # noqa: TRY400
            await message.reject()
            return

        async def give_up(reason: ImportReason) -> None:
            log.error("failed-rows report not sent", batch_id=job.batch_id, reason=reason.english())

        await settle_import_job(
            message, "report", lambda: self._report(job), give_up, self._job_limits.max_deliver
        )

    async def _report(self, job: ImportReportJob) -> str:
        report = await self._reports.failed_rows(job.batch_id)
        if report is None or not report.errors:
            return "duplicate"
        name = failed_rows_file_name(job.batch_id)
        # In the admin's language as it is now: the rows store reasons, not sentences.
        t = translator_for(report.language)
        await self._store.put_artifact(
            name, failed_rows_csv(report.errors, report.cells, report.header, t)
        )
        await publish(
            self._js,
            ArtifactReady(
                artifact_key=name,
                chat_id=report.chat_id,
                filename=name,
                kind="document",
                caption_key=CAPTION_KEY,
                caption_args={"id": job.batch_id, "count": len(report.errors)},
            ),
        )
        return "reported"
