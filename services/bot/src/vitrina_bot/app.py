"""Wiring of the bot process: runtime, dispatcher, background loops, polling, graceful stop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable

from aiogram import Bot, Dispatcher
from aiogram.types import User

from vitrina_bot.handlers import build_root_router
from vitrina_bot.preview_events import PreviewEventsConsumer, run_forever
from vitrina_bot.telegram import TelegramRejectedTokenError, check_telegram, create_bot
from vitrina_bot.uploads.intake import UploadIntake, UploadLimits
from vitrina_common.config import Settings
from vitrina_common.lifecycle import run_unless_stopped, stop_event_on_signals
from vitrina_common.logging import get_logger
from vitrina_common.outbox import NATS_PUBLISH, OutboxRelay, nats_publish_handler
from vitrina_common.retry import retry_until_ready
from vitrina_common.runtime import ServiceRuntime
from vitrina_common.services.catalog import (
    CachePreviewFileId,
    RecordPreviewOutcome,
    RegisterUpload,
)
from vitrina_common.services.users import RegisterUser
from vitrina_common.storage.objects import ImageStore

log = get_logger(__name__)

_FINAL = (TelegramRejectedTokenError,)


def build_dispatcher(runtime: ServiceRuntime, bot: Bot, relay: OutboxRelay) -> Dispatcher:
    """The dispatcher with every router and the use cases handlers ask for by name."""
    settings = runtime.settings
    intake = UploadIntake(
        bot,
        ImageStore(runtime.nats.jetstream()),
        RegisterUpload(runtime.session_factory),
        relay,
        UploadLimits(
            max_bytes=settings.worker.max_original_bytes,
            cloud_api=not settings.bot.api_is_local,
        ),
    )
    dispatcher = Dispatcher(
        register_user=RegisterUser(runtime.session_factory),
        shop_name=settings.shop.name,
        admin_ids=frozenset(settings.bot.admin_ids),
        upload_intake=intake,
    )
    dispatcher.include_router(build_root_router())
    return dispatcher


def start_background(
    runtime: ServiceRuntime, bot: Bot, relay: OutboxRelay
) -> list[asyncio.Task[None]]:
    """The outbox relay and the preview-events consumer, as tasks cancelled on stop."""
    consumer = PreviewEventsConsumer(
        runtime.nats.jetstream(),
        bot,
        RecordPreviewOutcome(runtime.session_factory),
        CachePreviewFileId(runtime.session_factory),
        runtime.settings.bot.storage_chat_id,
    )
    return [
        asyncio.create_task(relay.run(), name="outbox-relay"),
        asyncio.create_task(run_forever(consumer), name="preview-events"),
    ]


async def _log_identity(telegram: Awaitable[User]) -> None:
    me = await telegram
    log.info("telegram reachable", bot_username=me.username, bot_id=me.id)


async def run_bot(settings: Settings) -> None:
    """Run until SIGTERM/SIGINT: probes first, then dependencies, then polling."""
    stop = stop_event_on_signals()
    runtime = ServiceRuntime(settings, "bot", settings.bot.health_port)
    bot = create_bot(settings.bot)
    background: list[asyncio.Task[None]] = []
    try:
        if not await run_unless_stopped(runtime.start(), stop):
            return
        telegram = retry_until_ready(lambda: check_telegram(bot), "telegram", final=_FINAL)
        if not await run_unless_stopped(_log_identity(telegram), stop):
            return
        relay = OutboxRelay(
            runtime.session_factory, {NATS_PUBLISH: nats_publish_handler(runtime.nats.jetstream())}
        )
        dispatcher = build_dispatcher(runtime, bot, relay)
        background = start_background(runtime, bot, relay)
        polling = asyncio.create_task(
            dispatcher.start_polling(bot, handle_signals=False, close_bot_session=False)
        )
        await asyncio.wait(
            {polling, asyncio.ensure_future(stop.wait())}, return_when=asyncio.FIRST_COMPLETED
        )
        if not polling.done():
            await dispatcher.stop_polling()
        await polling
    finally:
        log.info("bot stopping")
        for task in background:
            task.cancel()
        for task in background:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await bot.session.close()
        await runtime.close()
