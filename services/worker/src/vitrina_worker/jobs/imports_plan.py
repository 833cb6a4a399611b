"""``jobs.import.plan``: an import's files → every row recorded, images stored as originals,
one row job per valid row (all in one commit, through the outbox).

Nothing is written to the database until the plan is complete, so a worker killed halfway
leaves the batch in ``planning`` and the redelivered job starts over (storing an original
again is a no-op: they are keyed by sha256). A job delivered after the commit finds the
batch planned and only deletes the files. An import whose images would fill the originals
bucket past its threshold is refused before any is stored, with the reason.

The ZIP is downloaded to a spool file and read from there entry by entry: the worker's
memory holds one image at a time (a few, while their writes overlap), never the ZIP.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from faststream.nats import NatsMessage
from nats.js import JetStreamContext
from pydantic import ValidationError

from vitrina_common.db.models import ImportBatch
from vitrina_common.imports import ImportFileError, ImportLimits, ImportReason
from vitrina_common.logging import get_logger
from vitrina_common.messaging.contracts import ImportPlanJob
from vitrina_common.services.imports_planning import ImportPlanning
from vitrina_common.storage.capacity import StorageFullError, StorageRoom
from vitrina_common.storage.import_files import ImportFiles
from vitrina_common.storage.objects import ImageStore, ObjectNotStoredError
from vitrina_common.storage.spool import Spool
from vitrina_worker.jobs.delivery import heartbeat
from vitrina_worker.jobs.imports_images import build_plan
from vitrina_worker.jobs.imports_settle import (
    ImportJobLimits,
    ImportJobRefusedError,
    settle_import_job,
)

log = get_logger(__name__)


class ImportPlanHandler:
    """Handles one ``ImportPlanJob`` delivery and settles it."""

    def __init__(
        self,
        js: JetStreamContext,
        planning: ImportPlanning,
        limits: ImportLimits,
        job_limits: ImportJobLimits,
        wake_relay: Callable[[], None],
        room: StorageRoom,
        spool: Spool,
    ) -> None:
        self._files = ImportFiles(js)
        self._spool = spool
        self._store = ImageStore(js)
        self._room = room
        self._planning = planning
        self._limits = limits
        self._job_limits = job_limits
        self._wake_relay = wake_relay

    async def __call__(self, message: NatsMessage) -> None:
        """Plan the import, or refuse it with a reason; never leave the message unsettled."""
        try:
            job = ImportPlanJob.model_validate_json(message.body)
        except ValidationError as error:
            log.error("malformed import plan job dropped", error=str(error))  # noqa: TRY400
            await message.reject()
            return

        async def give_up(reason: ImportReason) -> None:
            await self._planning.refuse(job.batch_id, reason)

        await settle_import_job(
            message,
            "plan",
            lambda: self._handle(job, message),
            give_up,
            self._job_limits.max_deliver,
        )

    async def _handle(self, job: ImportPlanJob, message: NatsMessage) -> str:
        batch = await self._planning.batch_to_plan(job.batch_id)
        if batch is None:
            return "duplicate"
        async with heartbeat(message, self._job_limits.ack_wait_s / 3):
            with self._spool.file() as (zip_path, zip_file):
                csv_bytes = await self._files_of(batch, zip_file)
                outcome = await self._plan(batch, csv_bytes, zip_path, zip_file.tell())
        await self._delete_files(batch)
        return outcome

    async def _plan(
        self, batch: ImportBatch, csv_bytes: bytes | None, zip_path: Path, zip_size: int
    ) -> str:
        """Plan and record, or refuse with the reason; the outcome for the metrics."""
        categories = await self._planning.categories()
        try:
            # The images are about the ZIP's size (they hardly compress).
            await self._room.check_originals(zip_size)
            plan = await build_plan(csv_bytes, zip_path, self._limits, categories, self._store)
        except ImportFileError as refused:
            await self._planning.refuse(batch.id, refused.reason)
            return "refused"
        except StorageFullError as full:
            await self._planning.refuse(batch.id, ImportReason("originals_full", full.arguments))
            return "refused"
        await self._planning.record(batch.id, plan)
        self._wake_relay()
        log.info(
            "import planned", batch_id=batch.id, rows=len(plan.products), failed=len(plan.errors)
        )
        return "planned"

    async def _files_of(self, batch: ImportBatch, zip_file: BinaryIO) -> bytes | None:
        """The ZIP into ``zip_file``; the CSV's bytes (at most max_csv_bytes) if it has one."""
        try:
            await self._files.download(batch.zip_key, zip_file)
            csv_bytes = await self._files.get(batch.csv_key) if batch.csv_key else None
        except ObjectNotStoredError:
            raise ImportJobRefusedError(ImportReason("files_expired")) from None
        zip_file.flush()
        return csv_bytes

    async def _delete_files(self, batch: ImportBatch) -> None:
        # The images are originals now; the ZIP would only hold memory in the bucket.
        for key in (batch.zip_key, batch.csv_key):
            if key is not None:
                await self._files.delete(key)
