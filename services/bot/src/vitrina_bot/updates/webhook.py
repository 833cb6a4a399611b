"""Webhook mode: Telegram POSTs updates; any number of replicas answer behind a Service.

The secret token header is checked first (401 otherwise, nothing processed). An update is
answered after it was processed. A money update is recorded in the inbox first and goes
through it: a repeat of one whose earlier attempt never finished (that replica died) is
processed at once unless another holds it, and a failure is the inbox's to retry, so it is
answered 200 either way. Any other update: a failure forgets its record and answers 500,
so Telegram's redelivery is processed; an id seen before is answered 200 and skipped.
"""

from __future__ import annotations

import hmac

from aiogram.types import Update
from aiohttp import web
from pydantic import ValidationError

from vitrina_bot.updates.intake import UpdateFeeder, as_incoming, carries_money
from vitrina_common.logging import get_logger
from vitrina_common.services.inbox import Settled

log = get_logger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105  (a header name)


class WebhookServer:
    """An aiohttp app with one route: the webhook path."""

    def __init__(self, feeder: UpdateFeeder, path: str, secret: str) -> None:
        self._feeder = feeder
        self._path = path
        self._secret = secret.encode()
        self._runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        """Check the secret, deduplicate, process, then answer."""
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            return web.Response(status=401, text="bad secret token")
        try:
            update = Update.model_validate(await request.json(), context={"bot": self._feeder.bot})
        except (ValueError, ValidationError):
            return web.Response(status=400, text="not a Telegram update")
        money = carries_money(update)
        fresh = await self._feeder.inbox.admit([as_incoming(update, keep_payload=money)])
        if money:
            settled = await self._feeder.feed_money(update.update_id)
            repeat = settled is Settled.SKIPPED and update.update_id not in fresh
            return web.Response(text="duplicate" if repeat else "ok")
        if update.update_id not in fresh:
            return web.Response(text="duplicate")
        try:
            await self._feeder.feed(update)
        except Exception:
            log.exception("webhook update failed", update_id=update.update_id)
            await self._feeder.inbox.forget(update.update_id)
            return web.Response(status=500, text="failed")
        return web.Response(text="ok")

    async def start(self, port: int) -> None:
        """Listen on ``port`` (all interfaces: the Service/Ingress forwards to it)."""
        app = web.Application()
        app.router.add_post(self._path, self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "0.0.0.0", port).start()  # noqa: S104
        log.info("webhook listening", port=port, path=self._path)

    async def stop(self) -> None:
        """Stop accepting; requests in flight finish first."""
        if self._runner is not None:
            await self._runner.cleanup()
