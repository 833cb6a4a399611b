"""Jobs JetStream stopped delivering: the dead-letter path for crashes and timeouts.

A job whose handler raised is settled by the handler itself (``delivery.py``). But a job
whose worker died on every try (killed, OOM, a decoder crash taking the process) is never
settled: after ``max_deliver`` JetStream only emits a MAX_DELIVERIES advisory and keeps the
message. Here the advisory is turned into what a handled failure would have done: the
product marked failed with a reason, the admin told, the message removed from the queue.
"""

from __future__ import annotations

import contextlib
import json

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from pydantic import ValidationError

from vitrina_common.logging import get_logger
from vitrina_common.messaging.contracts import PreviewFailed, RenderPreviewJob
from vitrina_common.messaging.publishing import publish
from vitrina_common.services.catalog import RecordPreviewOutcome

log = get_logger(__name__)


class DeadRenderJobs:
    """Handles MAX_DELIVERIES advisories of the render-preview consumer."""

    def __init__(self, js: JetStreamContext, outcomes: RecordPreviewOutcome, stream: str) -> None:
        self._js = js
        self._outcomes = outcomes
        self._stream = stream

    async def handle(self, advisory: Msg) -> None:
        """Fail the job's product and drop the message (idempotent: replicas may race)."""
        details = json.loads(advisory.data)
        sequence, deliveries = int(details["stream_seq"]), int(details.get("deliveries", 0))
        try:
            stored = await self._js.get_msg(self._stream, sequence)
        except NotFoundError:
            return  # already removed by another replica
        try:
            job = RenderPreviewJob.model_validate_json(stored.data or b"")
        except ValidationError:
            job = None
        if job is not None:
            reason = (
                f"gave up after {deliveries} attempts: the worker stopped (crashed or timed "
                "out) while rendering it every time"
            )
            if await self._outcomes.failed(job.product_id, job.original_sha256, reason):
                log.warning("render job dead-lettered", product_id=job.product_id)
                await publish(
                    self._js,
                    PreviewFailed(
                        product_id=job.product_id,
                        original_sha256=job.original_sha256,
                        reason=reason,
                        notify_chat_id=job.notify_chat_id,
                        render_revision=job.render_revision,
                    ),
                )
        with contextlib.suppress(NotFoundError):
            await self._js.delete_msg(self._stream, sequence)
