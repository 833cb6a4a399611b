"""Wiring of the worker process: runtime, render pool, FastStream subscribers, periodic tasks,
graceful drain."""

from __future__ import annotations

import logging

from faststream.nats import NatsBroker, NatsUserPassword
from faststream.nats.opentelemetry import NatsTelemetryMiddleware

from vitrina_common.clock import SystemClock
from vitrina_common.config import Settings, exit_on_config_error
from vitrina_common.lifecycle import run_unless_stopped, stop_event_on_signals
from vitrina_common.logging import get_logger
from vitrina_common.messaging.permissions import inbox_prefix
from vitrina_common.messaging.provisioning import ensure_pull_consumer
from vitrina_common.messaging.topology import RENDER_PREVIEW_CONSUMER, max_deliveries_subject
from vitrina_common.retry import retry_until_ready
from vitrina_common.runtime import ServiceRuntime
from vitrina_common.services.catalog import RecordPreviewOutcome
from vitrina_worker.broadcasts import BroadcastSenders
from vitrina_worker.jobs.dead_letters import DeadRenderJobs
from vitrina_worker.jobs.fetch_loops import subscribe_fetch_loops
from vitrina_worker.jobs.imports_wiring import ImportJobs
from vitrina_worker.jobs.render_preview import PreviewJobLimits, RenderPreviewHandler
from vitrina_worker.jobs.reports import subscribe_reports
from vitrina_worker.notifications import NotificationSenders
from vitrina_worker.rendering.budget import (
    BudgetTooSmallError,
    cgroup_memory_limit,
    decode_budget,
)
from vitrina_worker.rendering.pool import RenderPool
from vitrina_worker.rendering.renderer import RenderOptions
from vitrina_worker.schedule import ScheduledTasks
from vitrina_worker.sending import TelegramSending

log = get_logger(__name__)


def build_broker(settings: Settings) -> NatsBroker:
    """The FastStream broker; it waits up to the drain timeout for in-flight jobs on stop."""
    nats = settings.nats
    security = (
        NatsUserPassword(nats.user, nats.password.get_secret_value())
        if nats.user and nats.password
        else None
    )
    return NatsBroker(
        nats.servers,
        name="vitrina-worker",
        security=security,
        # The worker user may read replies only under its own prefix (see permissions).
        inbox_prefix=inbox_prefix(nats.user),
        max_reconnect_attempts=-1,
        graceful_timeout=settings.worker.drain_timeout_s,
        # Per-message "Received/Processed" lines only at DEBUG: our handlers log outcomes.
        log_level=logging.DEBUG,
        # A consume span per job, continuing the publisher's trace from the message headers.
        middlewares=(NatsTelemetryMiddleware(),),
    )


def render_options(settings: Settings) -> RenderOptions:
    """Preview look and input limits from settings; ``BudgetTooSmallError`` when the
    memory limit leaves too little for a render."""
    worker = settings.worker
    return RenderOptions(
        long_side=worker.preview_long_side,
        jpeg_quality=worker.preview_jpeg_quality,
        max_pixels=worker.max_pixels,
        watermark_text=settings.shop.name,
        max_decode_bytes=decode_budget(worker, cgroup_memory_limit()),
    )


def subscribe_render_preview(
    broker: NatsBroker, settings: Settings, handler: RenderPreviewHandler
) -> None:
    """Bind ``max_concurrent_jobs`` fetch loops to the shared durable pull consumer."""
    loops = settings.worker.max_concurrent_jobs
    subscribe_fetch_loops(broker, RENDER_PREVIEW_CONSUMER, loops, handler, user=settings.nats.user)


async def run_worker(settings: Settings) -> None:
    """Run until SIGTERM/SIGINT: probes, dependencies, consumers; then drain and exit."""
    try:
        options = render_options(settings)
    except BudgetTooSmallError as error:
        exit_on_config_error("worker", [str(error)])
    stop = stop_event_on_signals()
    runtime = ServiceRuntime(settings, "worker", settings.worker.health_port)
    broker = build_broker(settings)
    pool = RenderPool(settings.worker.render_concurrency, settings.worker.render_pool)
    imports = ImportJobs(runtime, settings)
    scheduled = ScheduledTasks(settings, runtime.session_factory)
    telegram = TelegramSending(settings)
    broadcasts = BroadcastSenders(settings, runtime.session_factory)
    notifications = NotificationSenders(settings, runtime.session_factory, SystemClock())
    try:
        if not await run_unless_stopped(runtime.start(), stop):
            return
        scheduled.start()
        js = runtime.nats.jetstream()
        await ensure_pull_consumer(
            js,
            RENDER_PREVIEW_CONSUMER,
            ack_wait_s=settings.worker.ack_wait_s,
            max_deliver=settings.worker.max_deliver,
        )
        handler = RenderPreviewHandler(
            js,
            RecordPreviewOutcome(runtime.session_factory, runtime.read_session_factory),
            pool,
            options,
            PreviewJobLimits(
                max_deliver=settings.worker.max_deliver,
                ack_wait_s=settings.worker.ack_wait_s,
                max_original_bytes=settings.worker.max_original_bytes,
            ),
        )
        subscribe_render_preview(broker, settings, handler)
        await subscribe_reports(broker, js, settings, runtime.session_factory)
        # Every replica listens; a queue group makes one of them handle each advisory.
        await runtime.nats.subscribe(
            max_deliveries_subject(RENDER_PREVIEW_CONSUMER),
            queue="worker-dead-letters",
            cb=DeadRenderJobs(
                js, RecordPreviewOutcome(runtime.session_factory), RENDER_PREVIEW_CONSUMER.stream
            ).handle,
        )
        await imports.start(broker)
        await telegram.open(js)
        broadcasts.start(telegram)
        notifications.start(telegram)
        pool.warm_up()
        if not await run_unless_stopped(retry_until_ready(broker.start, "nats (broker)"), stop):
            return
        log.info(
            "worker consuming",
            consumer=RENDER_PREVIEW_CONSUMER.durable,
            decode_budget_bytes=options.max_decode_bytes,
        )
        await stop.wait()
    finally:
        log.info("worker stopping: finishing in-flight jobs")
        await scheduled.stop()
        await broadcasts.stop()
        await notifications.stop()
        await telegram.close()
        await broker.stop()
        await imports.stop()
        pool.close()
        await runtime.close()
