"""Bot API calls that wait out Telegram's flood control and ride out network blips."""

from __future__ import annotations

import asyncio
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

    getUpdates is left alone: the polling loop has its own backoff. A repeated send after a
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
                if attempt == ATTEMPTS or error.retry_after > MAX_RETRY_AFTER_S:
                    raise
                log.warning(
                    "flood control, waiting",
                    method=type(method).__name__,
                    seconds=error.retry_after,
                )
                await asyncio.sleep(error.retry_after)
            except (TelegramNetworkError, TelegramServerError) as error:
                if attempt == ATTEMPTS or isinstance(method, GetUpdates):
                    raise
                log.warning("telegram request failed, retrying", error=str(error), retry_in_s=delay)
                await asyncio.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover
