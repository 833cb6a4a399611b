"""A small Bot API client for bulk sends, and what Telegram's answers mean for a recipient.

The worker sends broadcasts without aiogram: a JSON POST per message and an answer sorted
into sent, gone (blocked, deactivated), retry later (flood control, server errors, network)
or refused for good (a bad request will not get better).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp

TELEGRAM_API = "https://api.telegram.org"
# Telegram answers a send within seconds; longer means the network is in trouble, and the
# send counts as in flight (it may have gone through: retried, possibly delivered twice).
_REQUEST_TIMEOUT_S = 30.0


class SendError(Exception):
    """A send that did not (knowingly) reach its chat; ``reason`` is what Telegram said."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class FloodWaitError(SendError):
    """429: everyone must wait ``retry_after`` seconds."""

    def __init__(self, reason: str, retry_after: float) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class RecipientGoneError(SendError):
    """403: the user blocked the bot or deleted their account; never send to them again."""


class TransientSendError(SendError):
    """A server error or a network failure: worth another attempt later."""


class RefusedSendError(SendError):
    """400 and the like: the same request will be refused again."""


@dataclass(frozen=True)
class BotApiTransport:
    """Calls ``<api_url>/bot<token>/<method>`` with JSON; one aiohttp session for all."""

    http: aiohttp.ClientSession
    token: str
    api_url: str = TELEGRAM_API

    async def call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """The ``result`` of a successful call (a message); raises a ``SendError``."""
        url = f"{self.api_url.rstrip('/')}/bot{self.token}/{method}"
        try:
            async with self.http.post(
                url, json=params, timeout=aiohttp.ClientTimeout(total=_REQUEST_TIMEOUT_S)
            ) as response:
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise TransientSendError(f"{type(error).__name__}: {error}") from error
        if body.get("ok"):
            result = body.get("result")
            return result if isinstance(result, dict) else {}
        raise classify(int(body.get("error_code") or response.status), body)

    async def send_file(
        self, method: str, chat_id: int, field: str, name: str, data: bytes, caption: str
    ) -> None:
        """Upload ``data`` as ``field`` (sendDocument ``document``) with an HTML caption."""
        form = aiohttp.FormData()
        form.add_field("chat_id", str(chat_id))
        form.add_field("caption", caption)
        form.add_field("parse_mode", "HTML")
        form.add_field(field, data, filename=name)
        url = f"{self.api_url.rstrip('/')}/bot{self.token}/{method}"
        try:
            async with self.http.post(
                url, data=form, timeout=aiohttp.ClientTimeout(total=_REQUEST_TIMEOUT_S)
            ) as response:
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise TransientSendError(f"{type(error).__name__}: {error}") from error
        if not body.get("ok"):
            raise classify(int(body.get("error_code") or response.status), body)


def classify(code: int, body: dict[str, Any]) -> SendError:
    """The error a failed Bot API answer stands for."""
    reason = f"{code}: {body.get('description', 'no description')}"
    if code == 429:
        retry_after = float((body.get("parameters") or {}).get("retry_after") or 1)
        return FloodWaitError(reason, retry_after)
    if code == 403:  # blocked, deactivated, kicked: the chat is gone for us
        return RecipientGoneError(reason)
    if code >= 500 or code in (408, 409):
        return TransientSendError(reason)
    return RefusedSendError(reason)
