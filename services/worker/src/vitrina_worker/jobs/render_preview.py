"""``jobs.preview.render``: original in the Object Store → watermarked preview → product ready.

Idempotent end to end: the preview key is derived from product and original, the DB update
only moves ``rendering → ready`` for the same original, and the ``preview.ready`` event has
a dedup id. So a redelivered job (worker killed after storing, before acking) renders
nothing new, and a job whose product is already ready just re-announces it.

An admin's re-render puts the product back to ``rendering`` (and forgets the preview's
file_id) in the transaction that writes the job, with a new ``render_revision``: the job
then renders like a first one, and its events carry the revision so JetStream does not
drop them as duplicates of the upload's events.

Before decoding, the header says what the decode will take; an image over the worker's
decode budget is refused with the reason, and a heavy one leaves a mark while it decodes
(``render_attempts``) so that, should it kill the worker, its redelivery refuses it instead
of killing the worker again.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from faststream.nats import NatsMessage
from nats.js import JetStreamContext
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind
from pydantic import ValidationError

from vitrina_common.db.models import Product, ProductStatus
from vitrina_common.logging import get_logger
from vitrina_common.messaging.contracts import PreviewFailed, PreviewReady, RenderPreviewJob
from vitrina_common.messaging.publishing import publish
from vitrina_common.services.catalog import RecordPreviewOutcome
from vitrina_common.storage.objects import ImageStore, ObjectNotStoredError, preview_key
from vitrina_worker import metrics
from vitrina_worker.jobs.delivery import (
    PermanentJobError,
    delivery_count,
    heartbeat,
    is_last_delivery,
    retry_delay_s,
)
from vitrina_worker.jobs.render_attempts import HEAVY_DECODE_BYTES, RenderAttempts, attempt_key
from vitrina_worker.rendering.cost import DecodeCost, megabytes
from vitrina_worker.rendering.pool import RendererCrashedError, RenderPool
from vitrina_worker.rendering.renderer import (
    TOO_LARGE_FOR_MEMORY,
    RenderOptions,
    UnusableImageError,
    inspect,
)

log = get_logger(__name__)
_tracer = trace.get_tracer("vitrina.worker")


@dataclass(frozen=True)
class PreviewJobLimits:
    """Consumer settings the handler needs to decide retries and heartbeats."""

    max_deliver: int
    ack_wait_s: float
    max_original_bytes: int


class RenderPreviewHandler:
    """Handles one ``RenderPreviewJob`` delivery and settles it with JetStream."""

    def __init__(
        self,
        js: JetStreamContext,
        outcomes: RecordPreviewOutcome,
        pool: RenderPool,
        options: RenderOptions,
        limits: PreviewJobLimits,
    ) -> None:
        self._js = js
        self._store = ImageStore(js)
        self._attempts = RenderAttempts(js)
        self._outcomes = outcomes
        self._pool = pool
        self._options = options
        self._limits = limits

    async def __call__(self, message: NatsMessage) -> None:
        """Settle ``message`` inside a span that continues the publisher's trace."""
        # Under FastStream's consume span, a child of it; bare, the publisher's context.
        current = trace.get_current_span().get_span_context().is_valid
        parent = None if current else propagate.extract(dict(message.headers or {}))
        with _tracer.start_as_current_span(
            "render preview", context=parent, kind=SpanKind.CONSUMER
        ) as span:
            span.set_attribute("messaging.message.id", str(message.message_id))
            await self._settle(message)

    async def _settle(self, message: NatsMessage) -> None:
        try:
            job = RenderPreviewJob.model_validate_json(message.body)
        except ValidationError as error:
            log.error("malformed render job dropped", error=str(error))  # noqa: TRY400
            await message.reject()
            return
        try:
            outcome = await self._handle(job, message)
        except PermanentJobError as error:
            await self._fail(job, str(error))
            await message.reject()
            return
        except Exception as error:  # noqa: BLE001  (transient until the last delivery)
            if is_last_delivery(message, self._limits.max_deliver):
                reason = f"gave up after {self._limits.max_deliver} attempts: {error}"
                await self._fail(job, reason)
                await message.reject()
                return
            log.warning("render job will be retried", product_id=job.product_id, error=str(error))
            metrics.preview_jobs.add(1, {"outcome": "retried"})
            await message.nack(delay=retry_delay_s(message))
            return
        metrics.preview_jobs.add(1, {"outcome": outcome})
        await message.ack()

    async def _handle(self, job: RenderPreviewJob, message: NatsMessage) -> str:
        product = await self._outcomes.product(job.product_id)
        if product is None:
            raise PermanentJobError("the product was deleted before its preview was rendered")
        key = preview_key(job.product_id, job.original_sha256)
        if product.original_sha256 != job.original_sha256:
            return "stale"
        if product.status is ProductStatus.READY and product.preview_key == key:
            await self._announce_ready(job, key)
            return "duplicate"
        if product.status is not ProductStatus.RENDERING:
            return "stale"
        await self._render_and_store(job, product, key, message)
        if await self._outcomes.ready(job.product_id, job.original_sha256, key):
            log.info("preview ready", product_id=job.product_id)
        await self._announce_ready(job, key)
        return "rendered"

    async def _render_and_store(
        self, job: RenderPreviewJob, product: Product, key: str, message: NatsMessage
    ) -> None:
        # The size recorded at upload: refusing a 60 MB file must not cost downloading it.
        size = product.original_size
        if size > self._limits.max_original_bytes:
            raise PermanentJobError(
                f"the file is {size / 2**20:.0f} MB; the limit is "
                f"{self._limits.max_original_bytes / 2**20:.0f} MB"
            )
        async with heartbeat(message, self._limits.ack_wait_s / 3):
            try:
                data = await self._store.get_original(product.original_key)
            except ObjectNotStoredError:
                raise PermanentJobError("the original file is missing from storage") from None
            cost = await self._inspect(data)
            heavy = cost.bytes >= HEAVY_DECODE_BYTES
            mark = attempt_key(job, key)
            if heavy:
                await self._begin_heavy(mark, cost, message)
            try:
                preview = await self._render(data, cost, heavy)
                await self._store.put_preview(key, preview)
            finally:
                if heavy:
                    await self._attempts.end(mark)

    async def _inspect(self, data: bytes) -> DecodeCost:
        # The header only: type, pixels and what decoding takes, against the budget.
        try:
            return await asyncio.to_thread(inspect, data, self._options)
        except UnusableImageError as error:
            raise PermanentJobError(str(error)) from None

    async def _begin_heavy(self, mark: str, cost: DecodeCost, message: NatsMessage) -> None:
        if await self._attempts.died_before(mark):
            await self._attempts.end(mark)
            raise PermanentJobError(_died_decoding(cost, "the worker stopped"))
        await self._attempts.begin(mark, delivery_count(message))

    async def _render(self, data: bytes, cost: DecodeCost, heavy: bool) -> bytes:
        started = time.perf_counter()
        try:
            preview = await self._pool.render(data, self._options)
        except UnusableImageError as error:
            raise PermanentJobError(str(error)) from None
        except RendererCrashedError:
            if heavy:  # a render process killed by it: the worker survived, say so now
                raise PermanentJobError(_died_decoding(cost, "the render process died")) from None
            raise
        metrics.render_seconds.record(time.perf_counter() - started)
        return preview

    async def _announce_ready(self, job: RenderPreviewJob, key: str) -> None:
        await publish(
            self._js,
            PreviewReady(
                product_id=job.product_id,
                original_sha256=job.original_sha256,
                preview_key=key,
                notify_chat_id=job.notify_chat_id,
                render_revision=job.render_revision,
            ),
        )

    async def _fail(self, job: RenderPreviewJob, reason: str) -> None:
        log.warning("preview failed", product_id=job.product_id, reason=reason)
        metrics.preview_jobs.add(1, {"outcome": "failed"})
        await self._outcomes.failed(job.product_id, job.original_sha256, reason)
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


def _died_decoding(cost: DecodeCost, what: str) -> str:
    return (
        f"the image is {cost.describe()}, {TOO_LARGE_FOR_MEMORY}: {what} while decoding it "
        f"(about {megabytes(cost.bytes)}), so it is not tried again; send it with fewer "
        "pixels, or as a JPEG"
    )
