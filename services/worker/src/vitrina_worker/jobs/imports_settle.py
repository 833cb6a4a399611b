"""How every import job settles with JetStream (see ``delivery`` for the rules): done → ack;
``PermanentJobError`` → the job's give-up path, then term; anything else → nak with a growing
delay until the last delivery, which gives up with "gave up after N attempts: …"."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from faststream.nats import NatsMessage

from vitrina_common.imports import ImportReason
from vitrina_common.imports.reasons import ReasonArguments, verbatim
from vitrina_common.logging import get_logger
from vitrina_worker import metrics
from vitrina_worker.jobs.delivery import PermanentJobError, is_last_delivery, retry_delay_s

log = get_logger(__name__)

GiveUp = Callable[[ImportReason], Awaitable[None]]
# An exception's message inside a reason: enough to recognise it, never a whole traceback.
_MAX_ERROR_CHARS = 500


class ImportJobRefusedError(PermanentJobError):
    """Retrying cannot help, and ``reason`` tells the admin why."""

    def __init__(self, reason: ImportReason) -> None:
        super().__init__(reason.english())
        self.reason = reason


@dataclass(frozen=True)
class ImportJobLimits:
    """Consumer settings the import handlers need for retries and heartbeats."""

    max_deliver: int
    ack_wait_s: float


async def settle_import_job(
    message: NatsMessage,
    kind: str,
    work: Callable[[], Awaitable[str]],
    give_up: GiveUp,
    max_deliver: int,
) -> None:
    """Run ``work`` (returns an outcome name for the metrics) and settle ``message``."""
    try:
        outcome = await work()
    except PermanentJobError as error:
        refused = error.reason if isinstance(error, ImportJobRefusedError) else None
        await _give_up(message, kind, give_up, refused or verbatim(str(error)))
        return
    except Exception as error:  # noqa: BLE001  (transient until the last delivery)
        if is_last_delivery(message, max_deliver):
            arguments: ReasonArguments = {
                "attempts": max_deliver,
                "error": str(error)[:_MAX_ERROR_CHARS],
            }
            await _give_up(message, kind, give_up, ImportReason("gave_up", arguments))
            return
        log.warning("import job will be retried", kind=kind, error=str(error))
        metrics.import_jobs.add(1, {"kind": kind, "outcome": "retried"})
        await message.nack(delay=retry_delay_s(message))
        return
    metrics.import_jobs.add(1, {"kind": kind, "outcome": outcome})
    await message.ack()


async def _give_up(message: NatsMessage, kind: str, give_up: GiveUp, reason: ImportReason) -> None:
    log.warning("import job failed", kind=kind, reason=reason.english())
    metrics.import_jobs.add(1, {"kind": kind, "outcome": "failed"})
    try:
        await give_up(reason)
    except Exception as error:  # noqa: BLE001  (retry the whole job rather than lose it)
        log.warning("import job give-up will be retried", kind=kind, error=str(error))
        await message.nack(delay=retry_delay_s(message))
        return
    await message.reject()
