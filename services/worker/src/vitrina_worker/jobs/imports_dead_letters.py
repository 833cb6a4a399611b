"""Import jobs JetStream stopped delivering because their worker died on every try (killed,
out of memory): the plan's import is refused, the row is failed and counted, so no import
waits forever for a row that will never come. See ``dead_letters`` for the render jobs."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from pydantic import ValidationError

from vitrina_common.imports import ImportReason
from vitrina_common.logging import get_logger
from vitrina_common.messaging.contracts import ImportPlanJob, ImportRowJob
from vitrina_common.services.imports_planning import ImportPlanning
from vitrina_common.services.imports_rows import ImportRows

log = get_logger(__name__)


class DeadImportJobs:
    """Handles MAX_DELIVERIES advisories of the import consumers."""

    def __init__(
        self,
        js: JetStreamContext,
        planning: ImportPlanning,
        rows: ImportRows,
        stream: str,
        wake_relay: Callable[[], None],
    ) -> None:
        self._js = js
        self._planning = planning
        self._rows = rows
        self._stream = stream
        self._wake_relay = wake_relay

    async def handle(self, advisory: Msg) -> None:
        """Settle the dead job's import and drop the message (replicas may race: idempotent)."""
        details = json.loads(advisory.data)
        sequence, deliveries = int(details["stream_seq"]), int(details.get("deliveries", 0))
        try:
            stored = await self._js.get_msg(self._stream, sequence)
        except NotFoundError:
            return
        reason = ImportReason("worker_died", {"attempts": deliveries})
        try:
            await self._give_up(stored.subject or "", stored.data or b"", reason)
        except ValidationError:
            log.error("malformed dead import job dropped", subject=stored.subject)  # noqa: TRY400
        with contextlib.suppress(NotFoundError):
            await self._js.delete_msg(self._stream, sequence)

    async def _give_up(self, subject: str, data: bytes, reason: ImportReason) -> None:
        if subject == ImportPlanJob.subject:
            plan = ImportPlanJob.model_validate_json(data)
            if await self._planning.refuse(plan.batch_id, reason):
                log.warning("import plan dead-lettered", batch_id=plan.batch_id)
        elif subject == ImportRowJob.subject:
            row = ImportRowJob.model_validate_json(data)
            if await self._rows.give_up(row.batch_id, row.row_number, reason) is not None:
                log.warning("import row dead-lettered", batch_id=row.batch_id, row=row.row_number)
                self._wake_relay()
        else:
            log.warning("import job dead-lettered", subject=subject)
