"""What the report jobs (charts, exports) share: settling a delivery with JetStream, and
binding their fetch loops to the durable consumers.

- done → ack;
- a malformed job → term (it can never succeed);
- anything else (a database or NATS blip) → nak with a growing delay, until the last
  allowed delivery, after which the job is given up: a log line, and an ``ArtifactFailed``
  so the bot tells the admin instead of leaving them waiting for a file.

The outputs are idempotent: artifact keys come from the job's request id and
``ArtifactReady`` carries them as its dedup id, so a redelivered job overwrites the same
objects and its repeated events are dropped by JetStream's duplicate window.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from faststream.nats import NatsBroker, NatsMessage
from nats.js import JetStreamContext
from pydantic import ValidationError

from vitrina_common.config import Settings
from vitrina_common.logging import get_logger
from vitrina_common.messaging.contracts import ArtifactFailed, Contract
from vitrina_common.messaging.provisioning import ensure_pull_consumer
from vitrina_common.messaging.publishing import publish
from vitrina_common.messaging.topology import ConsumerSpec
from vitrina_worker.jobs.delivery import heartbeat, is_last_delivery, retry_delay_s
from vitrina_worker.jobs.fetch_loops import subscribe_fetch_loops

log = get_logger(__name__)

JobT = TypeVar("JobT", bound=Contract)


class ReportJobHandler(abc.ABC, Generic[JobT]):
    """Parses, runs and settles one delivery of a ``JobT``."""

    contract: type[JobT]

    def __init__(self, js: JetStreamContext, max_deliver: int, ack_wait_s: float) -> None:
        self._js = js
        self._max_deliver = max_deliver
        self._ack_wait_s = ack_wait_s

    @abc.abstractmethod
    async def handle(self, job: JobT) -> None:
        """Do the job; raise to have it retried."""

    @abc.abstractmethod
    def given_up(self, job: JobT) -> ArtifactFailed:
        """What the admin is told when the job is given up."""

    async def __call__(self, message: NatsMessage) -> None:
        """Settle ``message``: ack, nak with a delay, or term."""
        try:
            job = self.contract.model_validate_json(message.body)
        except ValidationError as error:
            log.error("malformed report job dropped", error=str(error))  # noqa: TRY400
            await message.reject()
            return
        try:
            # A million-row export may outlast ack_wait: keep telling JetStream "working".
            async with heartbeat(message, self._ack_wait_s / 3):
                await self.handle(job)
        except Exception as error:  # noqa: BLE001  (transient until the last delivery)
            if is_last_delivery(message, self._max_deliver):
                log.error("report job given up", job=job.msg_id(), error=str(error))  # noqa: TRY400
                await self._tell_given_up(job)
                await message.reject()
                return
            log.warning("report job will be retried", job=job.msg_id(), error=str(error))
            await message.nack(delay=retry_delay_s(message))
            return
        await message.ack()

    async def _tell_given_up(self, job: JobT) -> None:
        try:
            await publish(self._js, self.given_up(job))
        except Exception as error:  # noqa: BLE001  (NATS is down too: the log line is all we have)
            log.error("could not tell the admin", job=job.msg_id(), error=str(error))  # noqa: TRY400


async def subscribe_report_job(
    broker: NatsBroker,
    js: JetStreamContext,
    spec: ConsumerSpec,
    settings: Settings,
    handler: Callable[[NatsMessage], Awaitable[None]],
) -> None:
    """Create the durable consumer and bind ``max_concurrent_jobs`` fetch loops to it."""
    worker = settings.worker
    await ensure_pull_consumer(
        js, spec, ack_wait_s=worker.ack_wait_s, max_deliver=worker.max_deliver
    )
    subscribe_fetch_loops(
        broker, spec, worker.max_concurrent_jobs, handler, user=settings.nats.user
    )
