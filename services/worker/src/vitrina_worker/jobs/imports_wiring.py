"""The worker's bulk-import consumers (plan, row, report), their dead letters, and an outbox
relay for what their commits enqueue.

The relay is here because row jobs commit the render job of every product they create (and
the last one the report job) to the outbox: relaying them from the worker that committed
them publishes at once, instead of waiting for the bot's next poll.
"""

from __future__ import annotations

import asyncio

from faststream.nats import NatsBroker

from vitrina_common.cancellation import cancel_and_wait
from vitrina_common.config import Settings
from vitrina_common.messaging.provisioning import ensure_pull_consumer
from vitrina_common.messaging.topology import (
    IMPORT_PLAN_CONSUMER,
    IMPORT_REPORT_CONSUMER,
    IMPORT_ROW_CONSUMER,
    max_deliveries_subject,
)
from vitrina_common.outbox import NATS_PUBLISH, OutboxRelay, nats_publish_handler
from vitrina_common.retry import RetryPolicy
from vitrina_common.runtime import ServiceRuntime
from vitrina_common.services.imports import import_limits
from vitrina_common.services.imports_planning import ImportPlanning
from vitrina_common.services.imports_rows import ImportReports, ImportRows
from vitrina_common.storage.capacity import StorageRoom
from vitrina_common.storage.spool import Spool
from vitrina_worker.jobs.fetch_loops import subscribe_fetch_loops
from vitrina_worker.jobs.imports_dead_letters import DeadImportJobs
from vitrina_worker.jobs.imports_plan import ImportPlanHandler
from vitrina_worker.jobs.imports_report import ImportReportHandler
from vitrina_worker.jobs.imports_row import ImportRowHandler
from vitrina_worker.jobs.imports_settle import ImportJobLimits

_CONSUMERS = (IMPORT_PLAN_CONSUMER, IMPORT_ROW_CONSUMER, IMPORT_REPORT_CONSUMER)
# Row jobs leave their render jobs to the next pass: one pass publishes many.
RELAY_POLL_S = 0.5
RELAY_CONCURRENCY = 4


class ImportJobs:
    """Binds the import consumers of one worker process; ``stop`` after the broker stopped."""

    def __init__(self, runtime: ServiceRuntime, settings: Settings) -> None:
        self._runtime = runtime
        self._settings = settings
        self._relay_task: asyncio.Task[None] | None = None

    async def start(self, broker: NatsBroker) -> None:
        """Create the consumers, register their fetch loops on ``broker`` (not started yet),
        listen for their dead letters and start the relay."""
        settings, sessions = self._settings, self._runtime.session_factory
        js = self._runtime.nats.jetstream()
        worker = settings.worker
        for spec in _CONSUMERS:
            await ensure_pull_consumer(
                js, spec, ack_wait_s=worker.ack_wait_s, max_deliver=worker.max_deliver
            )
        relay = OutboxRelay(
            sessions,
            {NATS_PUBLISH: nats_publish_handler(js)},
            batch_size=500,
            poll_interval_s=RELAY_POLL_S,
            # Each publish holds a pooled connection for its row's transaction: a few at a
            # time keep the pool free for the row jobs themselves.
            concurrency=RELAY_CONCURRENCY,
            policy=RetryPolicy.from_settings(settings.delivery),
        )
        limits = ImportJobLimits(max_deliver=worker.max_deliver, ack_wait_s=worker.ack_wait_s)
        planning, rows = ImportPlanning(sessions), ImportRows(sessions)
        room = StorageRoom(js, settings.nats.originals_full_percent)
        spool = Spool(worker.temp_dir, "worker")
        spool.prepare()
        plan = ImportPlanHandler(
            js, planning, import_limits(settings), limits, relay.wake, room, spool
        )
        # One plan at a time per process: a plan spools its ZIP (up to 200 MB) to disk.
        user = settings.nats.user
        subscribe_fetch_loops(broker, IMPORT_PLAN_CONSUMER, 1, plan, user=user)
        row = ImportRowHandler(rows, limits, relay.wake)
        loops = settings.imports.row_jobs_per_worker
        subscribe_fetch_loops(broker, IMPORT_ROW_CONSUMER, loops, row, user=user)
        report = ImportReportHandler(js, ImportReports(sessions), limits)
        subscribe_fetch_loops(broker, IMPORT_REPORT_CONSUMER, 1, report, user=user)
        dead = DeadImportJobs(js, planning, rows, IMPORT_ROW_CONSUMER.stream, relay.wake)
        for spec in _CONSUMERS:
            await self._runtime.nats.subscribe(
                max_deliveries_subject(spec), queue="worker-dead-letters", cb=dead.handle
            )
        self._relay_task = asyncio.create_task(relay.run(), name="worker-outbox-relay")

    async def stop(self) -> None:
        """Stop the relay (rows it did not publish are published by the next relay pass)."""
        if self._relay_task is not None:
            await cancel_and_wait([self._relay_task])
