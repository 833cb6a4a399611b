"""How every import job settles with JetStream (see ``delivery`` for the rules): done → ack;
``PermanentJobError`` → the job's give-up path, then term; anything else → nak with a growing
delay until the last delivery, which gives up with "gave up after N attempts: …"."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from faststream.nats import NatsMessage

from vitrina_common.logging import get_logger
from vitrina_worker import metrics
from vitrina_worker.jobs.delivery import PermanentJobError, is_last_delivery, retry_delay_s

log = get_logger(__name__)


@dataclass(frozen=True)
class ImportJobLimits:
    """Consumer settings the import handlers need for retries and heartbeats."""

    max_deliver: int
    ack_wait_s: float


async def settle_import_job(
    message: NatsMessage,
    kind: str,
    work: Callable[[], Awaitable[str]],
    give_up: Callable[[str], Awaitable[None]],
    max_deliver: int,
) -> None:
    """Run ``work`` (returns an outcome name for the metrics) and settle ``message``."""
    try:
        outcome = await work()
    except PermanentJobError as error:
        await _give_up(message, kind, give_up, str(error))
        return
    except Exception as error:  # noqa: BLE001  (transient until the last delivery)
        if is_last_delivery(message, max_deliver):
            reason = f"gave up after {max_deliver} attempts: {error}"
            await _give_up(message, kind, give_up, reason)
            return
        log.warning("import job will be retried", kind=kind, error=str(error))
        metrics.import_jobs.add(1, {"kind": kind, "outcome": "retried"})
        await message.nack(delay=retry_delay_s(message))
        return
    metrics.import_jobs.add(1, {"kind": kind, "outcome": outcome})
    await message.ack()


async def _give_up(
    message: NatsMessage, kind: str, give_up: Callable[[str], Awaitable[None]], reason: str
) -> None:
    log.warning("import job failed", kind=kind, reason=reason)
    metrics.import_jobs.add(1, {"kind": kind, "outcome": "failed"})
    try:
        await give_up(reason)
    except Exception as error:  # noqa: BLE001  (retry the whole job rather than lose it)
        log.warning("import job give-up will be retried", kind=kind, error=str(error))
        await message.nack(delay=retry_delay_s(message))
        return
    await message.reject()
