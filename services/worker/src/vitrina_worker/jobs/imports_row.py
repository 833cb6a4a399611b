"""``jobs.import.row``: one planned row → its product and render job, in one transaction.

A redelivered or duplicated job finds the row settled and does nothing; the same files
imported again find the product by its import key and count the row "already imported".
"""

from __future__ import annotations

from collections.abc import Callable

from faststream.nats import NatsMessage
from pydantic import ValidationError

from vitrina_common.imports import ImportReason
from vitrina_common.logging import get_logger
from vitrina_common.messaging.contracts import ImportRowJob
from vitrina_common.services.imports_rows import ImportRows
from vitrina_worker.jobs.imports_settle import ImportJobLimits, settle_import_job

log = get_logger(__name__)


class ImportRowHandler:
    """Handles one ``ImportRowJob`` delivery and settles it."""

    def __init__(
        self, rows: ImportRows, job_limits: ImportJobLimits, wake_relay: Callable[[], None]
    ) -> None:
        self._rows = rows
        self._job_limits = job_limits
        self._wake_relay = wake_relay

    async def __call__(self, message: NatsMessage) -> None:
        """Create the row's product (or count it), or fail the row with a reason."""
        try:
            job = ImportRowJob.model_validate_json(message.body)
        except ValidationError as error:
            log.error("malformed import row job dropped", error=str(error))  # noqa: TRY400
            await message.reject()
            return

        async def work() -> str:
            settlement = await self._rows.create_product(job.batch_id, job.row_number)
            if settlement is None:
                return "duplicate"
            # The render job waits in the outbox for the relay's next pass (a fraction of a
            # second: waking it for every row would make a pass per row); the report, after
            # the last row, goes at once.
            if settlement.finished:
                log.info("import finished", batch_id=job.batch_id)
                self._wake_relay()
            return settlement.outcome.value

        async def give_up(reason: ImportReason) -> None:
            if await self._rows.give_up(job.batch_id, job.row_number, reason) is not None:
                self._wake_relay()

        await settle_import_job(message, "row", work, give_up, self._job_limits.max_deliver)
