"""Retrying a start-up dependency (database, NATS) with capped exponential backoff."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from vitrina_common.logging import get_logger

log = get_logger(__name__)
T = TypeVar("T")


async def retry_until_ready(
    attempt: Callable[[], Awaitable[T]],
    what: str,
    *,
    first_delay_s: float = 0.5,
    max_delay_s: float = 30.0,
    final: tuple[type[BaseException], ...] = (),
) -> T:
    """Call ``attempt`` until it succeeds, logging one line per failure with the next delay.

    The delay doubles up to ``max_delay_s`` so an outage of minutes costs a handful of log
    lines, not a flood, and the process stays up (its /readyz says not ready meanwhile).
    Exceptions in ``final`` are not retried: no amount of waiting fixes them.
    """
    delay = first_delay_s
    while True:
        try:
            return await attempt()
        except final:
            raise
        except (OSError, TimeoutError, ConnectionError) as error:
            reason = str(error) or type(error).__name__
        except Exception as error:  # noqa: BLE001  (drivers raise their own hierarchies)
            reason = f"{type(error).__name__}: {error}"
        log.warning(
            "dependency unreachable, retrying",
            dependency=what,
            reason=reason,
            retry_in_s=round(delay, 1),
        )
        await asyncio.sleep(delay)
        delay = min(delay * 2, max_delay_s)
