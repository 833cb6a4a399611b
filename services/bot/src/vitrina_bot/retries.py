"""Bot API calls that wait out Telegram's flood control and ride out network blips."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.methods.base import Response, TelegramType

from vitrina_common.logging import get_logger

log = get_logger(__name__)

ATTEMPTS = 4
# Flood waits longer than this are better failed and retried by whoever called (an
# outbox row comes back later) than held inside a handler.
MAX_RETRY_AFTER_S = 30

# The loop time by which the current task's calls must be done (a pre-checkout answer);
# None: no deadline. Waits that would pass it fail at once instead of sleeping.
_DEADLINE: ContextVar[float | None] = ContextVar("telegram_call_deadline", default=None)


@contextlib.contextmanager
def calls_due_by(deadline: float) -> Iterator[None]:
    """Within the block, a flood wait or backoff that would end after ``deadline`` (loop
    time) raises instead of sleeping: an answer that comes too late is no answer."""
    token = _DEADLINE.set(deadline)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def _past_deadline(wait_s: float) -> bool:
    deadline = _DEADLINE.get()
    return deadline is not None and asyncio.get_running_loop().time() + wait_s > deadline


# aiogram parses every answer with ``Response[method.__returning__]``; pydantic caches such
# parametrised models in a *weak* dictionary, so once the previous one is collected each
# call rebuilds the model class and its validator: measured at ~15% of the bot's CPU under
# load. Holding one strong reference per return type makes every later call a cache hit.
_RESPONSE_MODELS: dict[Any, type[Response[Any]]] = {}


def _keep_response_model(returning: Any) -> None:
    if returning not in _RESPONSE_MODELS:
        _RESPONSE_MODELS[returning] = Response[returning]


class RetryMiddleware(BaseRequestMiddleware):
    """429 → sleep ``retry_after`` and repeat; network or 5xx → exponential backoff.

    getUpdates is left alone: the polling loop has its own backoff. Within ``calls_due_by``
    no wait goes past the deadline. A repeated send after a
    network error may, rarely, deliver twice (the first attempt may have arrived); the
    alternative is losing the message.
    """

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        _keep_response_model(method.__returning__)
        delay = 0.5
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as error:
                wait = error.retry_after
                if attempt == ATTEMPTS or wait > MAX_RETRY_AFTER_S or _past_deadline(wait):
                    raise
                log.warning(
                    "flood control, waiting",
                    method=type(method).__name__,
                    seconds=error.retry_after,
                )
                await asyncio.sleep(error.retry_after)
            except (TelegramNetworkError, TelegramServerError) as error:
                if attempt == ATTEMPTS or isinstance(method, GetUpdates) or _past_deadline(delay):
                    raise
                log.warning("telegram request failed, retrying", error=str(error), retry_in_s=delay)
                await asyncio.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover
