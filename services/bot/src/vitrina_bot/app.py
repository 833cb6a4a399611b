"""The bot process: runtime, dispatcher, background loops, polling or webhook, graceful stop."""

from __future__ import annotations

import asyncio
from typing import Any

from aiogram import Bot, Dispatcher

from vitrina_bot.artifact_events import (
    CLOUD_SEND_LIMIT,
    LOCAL_SERVER_SEND_LIMIT,
    ArtifactEventsConsumer,
)
from vitrina_bot.event_consumer import run_forever
from vitrina_bot.handlers.commands import register_commands
from vitrina_bot.heap import freeze_startup_heap
from vitrina_bot.imports.progress import ImportProgressWatcher
from vitrina_bot.preview_events import PreviewEventsConsumer
from vitrina_bot.telegram import TelegramRejectedTokenError, check_telegram, create_bot
from vitrina_bot.updates.intake import UpdateFeeder
from vitrina_bot.updates.polling import CrashSafePolling
from vitrina_bot.updates.webhook import WebhookServer
from vitrina_bot.wiring import build_dependencies, build_update_dispatch
from vitrina_common.cancellation import cancel_and_wait
from vitrina_common.config import BotMode, Settings
from vitrina_common.lifecycle import run_unless_stopped, stop_event_on_signals
from vitrina_common.logging import get_logger
from vitrina_common.messaging.permissions import WATCHED_CONSUMERS
from vitrina_common.observability.collector import GaugeCollector
from vitrina_common.outbox import OutboxRelay
from vitrina_common.retry import RetryPolicy, retry_until_ready
from vitrina_common.runtime import ServiceRuntime
from vitrina_common.services.catalog import CachePreviewFileId, RecordPreviewOutcome
from vitrina_common.services.imports import ImportProgress
from vitrina_common.services.inbox import UpdateInbox
from vitrina_common.services.profile import Profiles

log = get_logger(__name__)

_FINAL = (TelegramRejectedTokenError,)


def build_inbox(runtime: ServiceRuntime) -> UpdateInbox:
    """The inbox, its money updates bounded to half the connection pool (each holds its
    row lock on one connection while its handler uses another)."""
    settings = runtime.settings
    return UpdateInbox(
        runtime.session_factory,
        RetryPolicy.from_settings(settings.delivery),
        concurrency=max(1, settings.db.pool_size // 2 - 1),
    )


def start_background(
    runtime: ServiceRuntime, bot: Bot, feeder: UpdateFeeder, dependencies: dict[str, Any]
) -> list[asyncio.Task[None]]:
    """Outbox relay, preview and artifact events, inbox sweep, import progress: tasks
    cancelled on stop."""
    relay: OutboxRelay = dependencies["outbox_relay"]
    profiles: Profiles = dependencies["profiles"]
    consumer = PreviewEventsConsumer(
        runtime.nats.jetstream(),
        bot,
        RecordPreviewOutcome(runtime.session_factory),
        CachePreviewFileId(runtime.session_factory),
        runtime.settings.bot.storage_chat_id,
        profiles,
        dependencies["catalog_counts"],
    )
    local_server = runtime.settings.bot.api_is_local
    artifacts = ArtifactEventsConsumer(
        runtime.nats.jetstream(),
        bot,
        profiles,
        max_send_bytes=LOCAL_SERVER_SEND_LIMIT if local_server else CLOUD_SEND_LIMIT,
        spool=dependencies["spool"],
    )
    gauges = GaugeCollector(
        runtime.session_factory,
        runtime.nats.jetstream(),
        WATCHED_CONSUMERS,
        runtime.settings.telemetry.collect_interval_s,
    )
    return [
        asyncio.create_task(gauges.run(), name="gauges"),
        asyncio.create_task(relay.run(), name="outbox-relay"),
        asyncio.create_task(run_forever(consumer), name="preview-events"),
        asyncio.create_task(run_forever(artifacts), name="artifact-events"),
        asyncio.create_task(feeder.sweep_forever(), name="inbox-sweep"),
        asyncio.create_task(
            ImportProgressWatcher(bot, ImportProgress(runtime.session_factory), profiles).run(),
            name="import-progress",
        ),
    ]


async def _serve_updates(
    settings: Settings, feeder: UpdateFeeder, dispatcher: Dispatcher, stop: asyncio.Event
) -> None:
    allowed = dispatcher.resolve_used_update_types()
    if settings.bot.mode is BotMode.POLLING:
        await CrashSafePolling(feeder, allowed).run(stop)
        return
    secret = settings.bot.webhook_secret.get_secret_value() if settings.bot.webhook_secret else ""
    server = WebhookServer(feeder, settings.bot.webhook_path, secret)
    await server.start(settings.bot.webhook_port)
    try:
        await feeder.bot.set_webhook(
            url=settings.bot.webhook_url or "", secret_token=secret, allowed_updates=allowed
        )
        await feeder.replay()
        await stop.wait()
    finally:
        await server.stop()


async def run_bot(settings: Settings) -> None:
    """Run until SIGTERM/SIGINT: probes first, then dependencies, then updates."""
    stop = stop_event_on_signals()
    runtime = ServiceRuntime(settings, "bot", settings.bot.health_port)
    bot = create_bot(settings.bot)
    background: list[asyncio.Task[None]] = []
    try:
        if not await run_unless_stopped(runtime.start(), stop):
            return
        telegram = retry_until_ready(lambda: check_telegram(bot), "telegram", final=_FINAL)
        if not await run_unless_stopped(telegram, stop):
            return
        dependencies = build_dependencies(runtime, bot)
        update_dispatch = await build_update_dispatch(
            settings, runtime.nats.jetstream(), dependencies
        )
        dispatcher = update_dispatch.dispatcher
        await register_commands(bot)
        log.info("start-up heap frozen", objects=freeze_startup_heap())
        relay: OutboxRelay = dependencies["outbox_relay"]
        feeder = UpdateFeeder(bot, dispatcher, build_inbox(runtime), relay.wake)
        background = start_background(runtime, bot, feeder, dependencies)
        await _serve_updates(settings, feeder, dispatcher, stop)
    finally:
        log.info("bot stopping")
        await cancel_and_wait(background)
        await bot.session.close()
        await runtime.close()
