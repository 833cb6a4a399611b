"""Where "now" comes from, so that what is due, expired or "10:00 local" is decided against an
injected clock: tests set the time instead of sleeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """The current moment, timezone-aware, in UTC."""

    def now(self) -> datetime:
        """This moment."""
        ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        """This moment, in UTC."""
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told to (tests)."""

    def __init__(self, start: datetime) -> None:
        self._now = _aware(start)

    def now(self) -> datetime:
        """The time it was last set to."""
        return self._now

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward by ``delta``."""
        self._now += delta

    def set(self, moment: datetime) -> None:
        """Put the clock at ``moment`` (timezone-aware)."""
        self._now = _aware(moment)


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("a clock works in timezone-aware datetimes")
    return moment.astimezone(UTC)
