"""A span and two metrics per Telegram update, and per Bot API request.

The update span is the root of everything the update causes: its database statements,
the outbox rows it writes (which carry its trace context to the relay) and the Bot API
calls it makes. Users appear in spans only as a keyed hash; logs keep the id itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from aiogram import BaseMiddleware, Bot, Dispatcher
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.dispatcher.event.handler import HandlerObject
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import TelegramObject, Update, User
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from vitrina_common.observability import shop_metrics

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
_tracer = trace.get_tracer("vitrina.bot")


def user_hash(key: bytes, user_id: int) -> str:
    """The span attribute for ``user_id``: HMAC-SHA256 under ``key``, 16 hex digits."""
    return hmac.new(key, str(user_id).encode(), hashlib.sha256).hexdigest()[:16]


class UpdateTelemetryMiddleware(BaseMiddleware):
    """Outermost update middleware: the update's span, ``vitrina_updates_total`` and
    ``vitrina_update_duration_seconds`` by update type (and outcome)."""

    def __init__(self, hash_key: bytes) -> None:
        self._hash_key = hash_key

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        update_type = event.event_type if isinstance(event, Update) else type(event).__name__
        started = time.perf_counter()
        outcome = "error"
        with _tracer.start_as_current_span(
            f"telegram update {update_type}",
            kind=SpanKind.CONSUMER,
            attributes={"telegram.update.type": update_type},
        ) as span:
            if isinstance(event, Update):
                span.set_attribute("telegram.update.id", event.update_id)
            sender: User | None = data.get("event_from_user")
            if sender is not None:
                span.set_attribute("telegram.user.hash", user_hash(self._hash_key, sender.id))
            try:
                result = await handler(event, data)
                outcome = "unhandled" if result is UNHANDLED else "handled"
                span.set_attribute("vitrina.update.outcome", outcome)
                return result
            finally:
                shop_metrics.updates.add(1, {"type": update_type, "outcome": outcome})
                shop_metrics.update_duration.record(
                    time.perf_counter() - started, {"type": update_type}
                )


class HandlerNameMiddleware(BaseMiddleware):
    """Inner middleware: names the handler that took the update on the update's span."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        chosen: HandlerObject | None = data.get("handler")
        if chosen is not None:
            name = getattr(chosen.callback, "__qualname__", type(chosen.callback).__name__)
            trace.get_current_span().set_attribute("vitrina.handler", name)
        return await handler(event, data)


def install_update_telemetry(dispatcher: Dispatcher, hash_key: bytes) -> None:
    """The update span and metrics (call first: the first outer middleware is outermost)
    and the handler name on every event observer."""
    dispatcher.update.outer_middleware(UpdateTelemetryMiddleware(hash_key))
    for name, observer in dispatcher.observers.items():
        if name not in {"update", "error"}:
            observer.middleware(HandlerNameMiddleware())


class RequestTelemetryMiddleware(BaseRequestMiddleware):
    """Each Bot API request (each retry too): a client span and
    ``vitrina_telegram_requests_total`` by method and outcome (ok, flood_wait, error)."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        name = method.__api_method__
        outcome = "error"
        # A long poll is no one's work: counted, but no trace of its own every 30 s.
        span_of = _no_span if isinstance(method, GetUpdates) else _client_span
        with span_of(name) as span:
            try:
                response = await make_request(bot, method)
            except TelegramRetryAfter:
                outcome = "flood_wait"
                if span is not None:
                    span.set_status(Status(StatusCode.ERROR, "429"))
                raise
            else:
                outcome = "ok"
            finally:
                shop_metrics.telegram_requests.add(1, {"method": name, "outcome": outcome})
        return response


@contextlib.contextmanager
def _no_span(_name: str) -> Iterator[Span | None]:
    yield None


@contextlib.contextmanager
def _client_span(name: str) -> Iterator[Span | None]:
    with _tracer.start_as_current_span(
        f"telegram {name}", kind=SpanKind.CLIENT, attributes={"telegram.method": name}
    ) as span:
        yield span
