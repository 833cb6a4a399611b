"""Retrying with capped exponential backoff: a start-up dependency (database, NATS) until
it answers, and an inbox or outbox item until it succeeds or is given up."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol, TypeVar

from vitrina_common.logging import get_logger

log = get_logger(__name__)
T = TypeVar("T")
# 2**1000 still fits a float; any delay has reached its cap long before.
_MAX_DOUBLINGS = 1000


class RetrySettings(Protocol):
    """A settings group with attempts and a backoff (delivery, sending)."""

    @property
    def max_attempts(self) -> int: ...
    @property
    def first_retry_s(self) -> float: ...
    @property
    def max_retry_s(self) -> float: ...


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


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts of one inbox or outbox item: exponential backoff, then dead.

    An item that failed ``max_attempts`` times is given up (and the admins told) rather
    than retried forever: a poison item must not hold a relay or a replica busy.
    """

    max_attempts: int = 10
    first_delay_s: float = 1.0
    max_delay_s: float = 300.0

    @classmethod
    def from_settings(cls, settings: RetrySettings) -> RetryPolicy:
        """The policy a settings group configures (``APP_CONF__DELIVERY__*``,
        ``APP_CONF__SENDING__*``)."""
        return cls(settings.max_attempts, settings.first_retry_s, settings.max_retry_s)

    def delay(self, failed_attempts: int) -> timedelta:
        """How long to wait after the ``failed_attempts``-th failure: first, ×2, ×4 … capped.
        The exponent is bounded too: an item retried without end (a due item) must not
        overflow the float after a thousand failures."""
        doublings = min(max(failed_attempts - 1, 0), _MAX_DOUBLINGS)
        seconds = self.first_delay_s * 2**doublings
        return timedelta(seconds=min(seconds, self.max_delay_s))

    def exhausted(self, failed_attempts: int) -> bool:
        """Whether an item that failed this many times is given up."""
        return failed_attempts >= self.max_attempts
